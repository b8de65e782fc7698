/**
 * `npm run bench`: every bench part, one after the other, each in its own process, then
 * bench/results.json and the results table in bench/README.md (between its markers).
 *
 *   npm run bench [-- --only lti11-launch,scale] [--quick] [--profile <dir>] [--no-write]
 *
 * `--quick` runs every part with small counts (a smoke test, figures not meaningful); `--profile`
 * asks each part for CPU profiles of its measured windows; `--no-write` prints without writing.
 * Each part is bounded in time and count, talks to loopback only and stops by itself; a part that
 * fails is reported as failed and the others still run (the exit code is then 1).
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from './support/args.js'
import { machine, round, type Figure, type PartResult } from './support/result.js'
import { tempPath } from './support/temp.js'

interface PartSpec { part: string, file: string, args: string[], quick: string[], limitSeconds: number }

const PARTS: PartSpec[] = [
  { part: 'lti11-launch', file: 'lti11-launch.ts', args: ['--seconds', '8', '--count', '40000'], quick: ['--seconds', '2', '--count', '3000'], limitSeconds: 150 },
  { part: 'lti13-launch', file: 'lti13-launch.ts', args: ['--count', '5000', '--seconds', '10'], quick: ['--count', '300', '--seconds', '3'], limitSeconds: 150 },
  { part: 'event-ingestion', file: 'event-ingestion.ts', args: ['--irrelevant', '100000', '--relevant', '3000'], quick: ['--irrelevant', '5000', '--relevant', '300'], limitSeconds: 180 },
  { part: 'event-ingestion-redis', file: 'event-ingestion-redis.ts', args: ['--irrelevant', '100000', '--relevant', '3000'], quick: ['--irrelevant', '5000', '--relevant', '300'], limitSeconds: 180 },
  { part: 'grade-delivery', file: 'grade-delivery.ts', args: ['--jobs', '2000'], quick: ['--jobs', '100'], limitSeconds: 150 },
  { part: 'grade-latency', file: 'grade-latency.ts', args: ['--events', '40', '--default-events', '3'], quick: ['--events', '5', '--default-events', '1'], limitSeconds: 150 },
  { part: 'coalescing', file: 'coalescing.ts', args: ['--burst', '100', '--delay', '2'], quick: ['--burst', '20', '--delay', '1'], limitSeconds: 120 },
  { part: 'scale', file: 'scale.ts', args: ['--learners', '1000000', '--events', '100000'], quick: ['--learners', '10000', '--events', '10000'], limitSeconds: 240 },
  { part: 'lti11-verify-peer', file: 'lti11-verify-peer.ts', args: ['--requests', '20000', '--full', '5000'], quick: ['--requests', '2000', '--full', '500'], limitSeconds: 90 }
]

const START_MARKER = '<!-- bench:results:start -->'
const END_MARKER = '<!-- bench:results:end -->'

const args = parseArgs()
const quick = args.has('quick')
const only = args.get('only')?.split(',').map(s => s.trim()).filter(Boolean)
const profileDir = args.get('profile')
const write = !args.has('no-write')
const here = (name: string): string => fileURLToPath(new URL(name, import.meta.url))

function uptime (): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim()
  } catch {
    return `load average: ${loadavg().map(l => l.toFixed(2)).join(', ')}`
  }
}

interface Failed { part: string, title: string, error: string, seconds: number }

async function runPart (spec: PartSpec): Promise<PartResult | Failed> {
  const out = tempPath(spec.part, '.json')
  const partArgs = [...(quick ? spec.quick : spec.args), '--out', out, ...(profileDir ? ['--profile', profileDir] : [])]
  const started = Date.now()
  process.stderr.write(`\n▶ ${spec.part}: node --import tsx bench/${spec.file} ${partArgs.filter(a => a !== out && a !== '--out').join(' ')}\n`)
  const code = await new Promise<number | null>(resolve => {
    // The part's own stdout (its JSON, the service's logs) is not needed here: it writes --out.
    const child = spawn(process.execPath, ['--import', 'tsx', here(spec.file), ...partArgs], { stdio: ['ignore', 'ignore', 'inherit'] })
    // Over its time limit: SIGTERM (the part removes its temporary files), SIGKILL 5 s later.
    let killer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      process.stderr.write(`${spec.part}: over ${spec.limitSeconds} s, stopping it\n`)
      child.kill('SIGTERM')
      killer = setTimeout(() => child.kill('SIGKILL'), 5000)
    }, spec.limitSeconds * 1000)
    child.on('exit', c => { clearTimeout(timer); clearTimeout(killer); resolve(c) })
  })
  const seconds = round((Date.now() - started) / 1000, 1)
  if (code === 0 && existsSync(out)) {
    const result = JSON.parse(readFileSync(out, 'utf8')) as PartResult
    process.stderr.write(`✔ ${spec.part} in ${seconds} s\n`)
    return result
  }
  process.stderr.write(`✘ ${spec.part} failed (exit ${code}) after ${seconds} s\n`)
  return { part: spec.part, title: spec.part, error: `exit ${code}`, seconds }
}

const fmt = (n: number): string => n.toLocaleString('en', { maximumFractionDigits: Math.abs(n) < 10 ? 2 : Math.abs(n) < 100 ? 1 : 0 })

function row (f: Figure): string {
  const value = f.value === null ? (f.note ?? '—') : `**${fmt(f.value)}** ${f.unit}${f.extra ? `<br>${f.extra}` : ''}`
  const limit = f.limit ? `${fmt(f.limit.value)} ${f.limit.unit}<br>${f.limit.name}` : '—'
  const ratioText = f.ratio === undefined ? '—' : fmt(f.ratio)
  const met = f.met === true ? '✅ met' : f.met === false ? '❌ missed' : '—'
  const note = f.value !== null && f.note ? `<br><sub>${f.note}</sub>` : ''
  return `| ${f.name}${note} | ${value} | ${limit} | ${ratioText} | ${f.target ?? '—'} | ${met} |`
}

function table (results: Array<PartResult | Failed>): string {
  const lines = ['| Figure | Measured | Limit (same run) | Ratio | Target (issue 8) | |', '|---|---|---|---|---|---|']
  for (const r of results) {
    if ('error' in r) {
      lines.push(`| ${r.part} | failed: ${r.error} | — | — | — | — |`)
      continue
    }
    for (const f of r.figures) lines.push(row(f))
  }
  return lines.join('\n')
}

async function main (): Promise<void> {
  const startedAt = new Date()
  const uptimeBefore = uptime()
  const selected = PARTS.filter(p => only === undefined || only.includes(p.part))
  if (selected.length === 0) throw new Error(`no such part; parts: ${PARTS.map(p => p.part).join(', ')}`)
  const results: Array<PartResult | Failed> = []
  for (const spec of selected) results.push(await runPart(spec))
  const uptimeAfter = uptime()
  const totalSeconds = round((Date.now() - startedAt.getTime()) / 1000, 1)
  const m = machine()
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`

  const report = {
    date: startedAt.toISOString(),
    command,
    quick,
    machine: m,
    uptime: { before: uptimeBefore, after: uptimeAfter },
    totalSeconds,
    parts: results
  }
  const partLoads = results
    .filter((r): r is PartResult => !('error' in r))
    .map(r => `${r.part} ${r.loadAverage.before}→${r.loadAverage.after} (${r.seconds} s)`)
    .join('; ')
  const block = [
    START_MARKER,
    `Measured ${startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC with \`${command}\` (${totalSeconds} s${quick ? ', QUICK: small counts, figures not meaningful' : ''}).`,
    '',
    `Machine: ${m.cores} cores (${m.model ?? 'unknown CPU'}), ${m.memoryGiB} GiB memory, Node ${m.node}, ${m.platform}.`,
    `Load: \`${uptimeBefore}\` before, \`${uptimeAfter}\` after; 1-minute load average per part: ${partLoads}.`,
    '',
    table(results),
    END_MARKER
  ].join('\n')
  process.stdout.write('\n' + block + '\n')

  if (write) {
    writeFileSync(here('results.json'), JSON.stringify(report, null, 2) + '\n')
    const readmePath = here('README.md')
    const readme = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : `# Benchmarks\n\n${START_MARKER}\n${END_MARKER}\n`
    const start = readme.indexOf(START_MARKER)
    const end = readme.indexOf(END_MARKER)
    const updated = start !== -1 && end > start
      ? readme.slice(0, start) + block + readme.slice(end + END_MARKER.length)
      : readme.trimEnd() + '\n\n' + block + '\n'
    writeFileSync(readmePath, updated)
    process.stderr.write(`\nwrote bench/results.json and the table in bench/README.md\n`)
  }
  if (results.some(r => 'error' in r)) process.exitCode = 1
}

main().catch(err => { console.error(err); process.exit(1) })
