/**
 * Scale with the number of mapped learners: start-up time and memory of the service with 10 and
 * with 1,000,000 LTI learners in the database, and the cost of one irrelevant event (header
 * triage, Avro decode, relevance check, through the real message processor) in both cases: it must
 * not grow with the number of learners.
 *
 *   node --import tsx bench/scale.ts [--learners 1000000] [--events 200000] [--out file]
 *
 * Each case boots the service in a fresh child process (support/scale-boot.ts) on its own SQLite
 * file, with the event consumer on (a mock broker), so start-up includes loading the relevance set;
 * the two cases alternate twice and the best of each is kept (the machine is shared).
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { createKnex } from '../src/db/connection.js'
import { migrateLatest } from '../src/db/migrate.js'
import { startMockKafka } from '../test/support/kafka-mock-broker.js'
import { numberArg, parseArgs } from './support/args.js'
import { tempPath } from './support/temp.js'
import { emitResult, ratio, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const learners = numberArg(args, 'learners', 1_000_000)
const events = numberArg(args, 'events', 100_000)
const RESULT_MARKER = 'SCALE_BOOT_RESULT '
const BOOT = fileURLToPath(new URL('./support/scale-boot.ts', import.meta.url))

interface Boot { relevantUsers: number, readySeconds: number, sinceProcessStart: number, rssMiB: number, heapUsedMiB: number, microsPerEvent: number, nanosPerLookup: number }

/** A migrated SQLite file with `count` LTI 1.1 learners of one consumer (bulk insert, one transaction). */
async function prepare (count: number): Promise<{ file: string, seconds: number }> {
  const file = tempPath(`scale-${count}`, '.sqlite')
  const knex = createKnex({ url: `sqlite:${file}` })
  await migrateLatest(knex)
  await knex.destroy()
  const started = performance.now()
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  const at = Date.now()
  const consumer = db.prepare(`INSERT INTO lti11_consumers (name, consumer_key, secret_enc, content_scope, outcome_hosts, signature_methods, active, created_at, updated_at)
    VALUES ('scale', 'scale', 'x', '[]', '[]', '["HMAC-SHA1"]', 1, ?, ?)`).run(at, at)
  const insert = db.prepare('INSERT INTO lti_users (consumer_id, lti_user_id, lms_user_id, lms_username, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
  db.transaction(() => {
    // LMS user ids spread over a wide range, as a big instance's are.
    for (let i = 1; i <= count; i++) insert.run(consumer.lastInsertRowid, `lti-${i}`, i * 37, `u${i}`, at, at)
  })()
  db.close()
  return { file, seconds: (performance.now() - started) / 1000 }
}

async function boot (file: string, brokers: string): Promise<Boot> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', BOOT, file, brokers, String(events)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000)
    child.on('error', reject)
    child.on('exit', code => {
      clearTimeout(timer)
      // The service logs to stdout too: the result is the line with the marker.
      const line = out.split('\n').find(l => l.startsWith(RESULT_MARKER))
      if (code !== 0 || line === undefined) reject(new Error(`scale-boot exited ${code}: ${out.slice(-500)}`))
      else resolve(JSON.parse(line.slice(RESULT_MARKER.length)) as Boot)
    })
  })
}

async function main (): Promise<void> {
  const part = startPart('scale', 'Scale with mapped learners', `node --import tsx bench/scale.ts --learners ${learners} --events ${events}`)
  const broker = await startMockKafka({ topics: [{ topic: 'learning-problem-score-lifecycle', partitions: 1 }] })
  try {
    const small = await prepare(10)
    const large = await prepare(learners)
    const brokers = broker.bootstrap.join(',')
    // Alternated twice, best of two: the machine is shared, and a slow moment should not pass for growth.
    const runs: Boot[][] = [[], []]
    for (let round = 0; round < 2; round++) {
      runs[0]!.push(await boot(small.file, brokers))
      runs[1]!.push(await boot(large.file, brokers))
    }
    const best = (list: Boot[]): Boot => ({
      ...list[0]!,
      readySeconds: Math.min(...list.map(r => r.readySeconds)),
      sinceProcessStart: Math.min(...list.map(r => r.sinceProcessStart)),
      microsPerEvent: Math.min(...list.map(r => r.microsPerEvent)),
      nanosPerLookup: Math.min(...list.map(r => r.nanosPerLookup))
    })
    const a = best(runs[0]!)
    const b = best(runs[1]!)
    if (b.relevantUsers !== learners) throw new Error(`expected ${learners} relevant users, loaded ${b.relevantUsers}`)
    const growth = ratio(b.microsPerEvent, a.microsPerEvent)
    const n = learners.toLocaleString('en')
    const figures: Figure[] = [
      {
        name: `Start-up to ready with ${n} mapped learners (buildServer → /ready, relevance set loaded)`,
        value: round(b.readySeconds, 2),
        unit: 's',
        extra: `process start → ready ${round(b.sinceProcessStart, 2)} s`,
        limit: { name: 'same with 10 learners', value: round(a.readySeconds, 2), unit: 's' },
        ratio: ratio(b.readySeconds, a.readySeconds)
      },
      {
        name: `Memory once ready with ${n} mapped learners`,
        value: round(b.rssMiB),
        unit: 'MiB RSS',
        extra: `heap used ${round(b.heapUsedMiB)} MiB`,
        limit: { name: 'same with 10 learners', value: round(a.rssMiB), unit: 'MiB RSS' },
        ratio: ratio(b.rssMiB, a.rssMiB),
        note: `≈ ${round(((b.rssMiB - a.rssMiB) * 2 ** 20) / learners, 1)} bytes RSS per learner`
      },
      {
        name: `Cost per irrelevant event, ${n} mapped learners (processor only, ${events.toLocaleString('en')} events)`,
        value: round(b.microsPerEvent, 2),
        unit: 'µs/event',
        extra: `relevance check alone ${round(b.nanosPerLookup, 1)} ns vs ${round(a.nanosPerLookup, 1)} ns with 10`,
        limit: { name: 'same with 10 learners', value: round(a.microsPerEvent, 2), unit: 'µs/event' },
        ratio: growth,
        target: 'flat from 10 to 1,000,000 learners',
        // Flat within the noise of a shared machine.
        met: growth <= 1.2
      }
    ]
    emitResult(part.finish(figures, { small: runs[0], large: runs[1], prepareSeconds: { small: round(small.seconds, 1), large: round(large.seconds, 1) } }), args.get('out'))
  } finally {
    await broker.stop()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
