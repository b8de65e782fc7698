// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time and by total
// (inclusive) time, with file:line, so a hot spot can be named without a flame-graph viewer.
//
//   node bench/support/profile-summary.mjs <file.cpuprofile> [--top 25] [--filter src/]
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const file = args[0]
const top = Number(args[args.indexOf('--top') + 1] || 25) || 25
const filterAt = args.indexOf('--filter')
const filter = filterAt === -1 ? undefined : args[filterAt + 1]
if (!file) { console.error('usage: profile-summary.mjs <file.cpuprofile> [--top N] [--filter text]'); process.exit(2) }

const profile = JSON.parse(readFileSync(file, 'utf8'))
const byId = new Map(profile.nodes.map(n => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)

const dt = new Map()
for (let i = 0; i < profile.samples.length; i++) {
  const d = profile.timeDeltas[i] ?? 0
  dt.set(profile.samples[i], (dt.get(profile.samples[i]) ?? 0) + d)
}
const total = [...dt.values()].reduce((a, b) => a + b, 0)

// tsx strips line breaks from the code it runs: for our .ts files the line is found again by
// looking for the function's definition in the source (first match; anonymous ones keep `?`).
const sources = new Map()
const definitionLine = (path, name) => {
  if (!sources.has(path)) {
    try { sources.set(path, readFileSync(path, 'utf8').split('\n')) } catch { sources.set(path, null) }
  }
  const lines = sources.get(path)
  if (!lines || !name) return '?'
  const escaped = name.replace(/[$]/g, '\\$')
  const re = new RegExp(`(function\\s*\\*?\\s*${escaped}\\b|\\b${escaped}\\s*(<[^>]*>)?\\s*\\(|\\b${escaped}\\s*[:=]|class\\s+${escaped}\\b)`)
  const at = lines.findIndex(l => re.test(l))
  return at === -1 ? '?' : String(at + 1)
}
const label = n => {
  const f = n.callFrame
  const path = f.url.replace(/^file:\/\//, '')
  const url = path.replace(/^.*\/work\/main\//, '')
  const line = url.endsWith('.ts') && f.lineNumber === 0 ? definitionLine(path, f.functionName) : String(f.lineNumber + 1)
  return `${f.functionName || '(anonymous)'} ${url}${url ? `:${line}` : ''}`
}
const self = new Map()
const incl = new Map()
for (const [id, t] of dt) {
  const n = byId.get(id)
  self.set(label(n), (self.get(label(n)) ?? 0) + t)
  // Inclusive: each distinct label on the stack once.
  const seen = new Set()
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur))
    if (seen.has(l)) continue
    seen.add(l)
    incl.set(l, (incl.get(l) ?? 0) + t)
  }
}
const show = (title, map) => {
  console.log(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)`)
  const rows = [...map].filter(([l]) => !filter || l.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
  for (const [l, t] of rows) console.log(`${(100 * t / total).toFixed(1).padStart(5)}%  ${l}`)
}
show('self time', self)
show('total time', incl)
