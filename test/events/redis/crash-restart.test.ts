/**
 * A Redis source SIGKILLed in the middle of a batch (after some transactions committed, before their
 * XACK) and started again: nothing lost, nothing twice. The first run is a child process with the
 * real pipeline; the restart is a new instance name, so the dead one's pending entries come back
 * only through XAUTOCLAIM.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createKnex } from '../../../src/db/connection.js'
import { migrateLatest } from '../../../src/db/migrate.js'
import { createTestDb, testBackend } from '../../helpers/db.js'
import { createRig, FAST, waitFor } from '../../support/redis-source-rig.js'
import { redisSkipReason, startRedisServer } from '../../support/redis-server.js'

t.setTimeout(180_000)

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const EVENTS = 20
const KILL_AFTER = 6

const CHILD = `
const root = process.env.REPO_ROOT
const { loadConfig } = await import(root + 'src/config.ts')
const { createKnex } = await import(root + 'src/db/connection.ts')
const { createEventPipeline } = await import(root + 'src/events/consumer/event-pipeline.ts')
const { createRedisSource } = await import(root + 'src/events/redis/redis-source.ts')
const config = loadConfig(JSON.parse(process.env.CHILD_ENV), { envFile: false })
const knex = createKnex({ url: config.DATABASE_URL, poolMax: 2 })
const silent = { debug () {}, info () {}, warn () {}, error () {} }
const pipeline = createEventPipeline({ config, knex, logger: silent })
await pipeline.relevantUsers.load()
const processor = {
  async process (message) {
    const result = await pipeline.processor.process(message)
    process.stdout.write('DONE ' + message.offset + ' ' + result.outcome + '\\n')
    await new Promise(resolve => setTimeout(resolve, 200))
    return result
  }
}
const source = createRedisSource({
  connection: { url: config.REDIS_URL }, stream: process.env.STREAM, group: config.redisConsumerGroup, consumerName: 'doomed',
  processor, logger: silent, tuning: JSON.parse(process.env.TUNING)
})
await source.start()
`

async function database (t: { teardown: (fn: () => unknown) => void }) {
  if (testBackend === 'mariadb') return createTestDb(t)
  // Two processes share the database: SQLite must be a file here, not memory.
  const dir = mkdtempSync(join(tmpdir(), 'lti-redis-crash-'))
  const url = `sqlite:${join(dir, 'db.sqlite')}`
  const knex = createKnex({ url })
  await migrateLatest(knex)
  t.teardown(async () => { await knex.destroy(); rmSync(dir, { recursive: true, force: true }) })
  return { knex, url, backend: 'sqlite' as const, destroy: async () => {} }
}

t.test('a Redis source killed mid-batch and restarted: lost 0, duplicated 0', { skip: redisSkipReason() }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const db = await database(t)
  const rig = await createRig(t, redis, db)
  const ceIds = await rig.write('crash', EVENTS)

  const env = { NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_CONSUMER_GROUP: rig.group }
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: ROOT,
    env: { ...process.env, REPO_ROOT: ROOT, CHILD_ENV: JSON.stringify(env), STREAM: rig.stream, TUNING: JSON.stringify({ ...FAST, batchSize: 50 }) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
  const done: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not process ${KILL_AFTER} entries: ${stderr.slice(-2000)}`)), 90_000)
    createInterface({ input: child.stdout }).on('line', line => {
      if (!line.startsWith('DONE ')) return
      done.push(line)
      if (done.length === KILL_AFTER) {
        clearTimeout(timer)
        child.kill('SIGKILL')
        resolve()
      }
    })
    void exited.then(() => { clearTimeout(timer); if (done.length < KILL_AFTER) reject(new Error(`child exited early: ${stderr.slice(-2000)}`)) })
  })
  t.equal(await exited, 'SIGKILL', 'killed, not stopped')
  t.same(done.map(line => line.split(' ')[2]), Array(KILL_AFTER).fill('queued'), 'killed in the middle of the batch')
  const committedBeforeKill = (await rig.processed()).length
  t.ok(committedBeforeKill >= KILL_AFTER && committedBeforeKill < EVENTS, `${committedBeforeKill} events recorded before the kill`)
  t.equal(await rig.pendingCount(), EVENTS, 'the whole batch is pending at the dead instance: nothing acked before the batch ended')

  // Another instance of the group: the dead one's entries are claimed once idle (1 s here), then processed.
  const outcomes: string[] = []
  const next = rig.source('survivor', { onAcked: (_id, r) => outcomes.push(r.outcome) })
  await next.start()
  await waitFor('every entry settled and acked', async () => outcomes.length === EVENTS && await rig.pendingCount() === 0, 60_000)
  t.equal(outcomes.filter(o => o === 'duplicate').length, committedBeforeKill, 'the ones recorded before the kill are duplicates')
  t.equal(outcomes.filter(o => o === 'queued').length, EVENTS - committedBeforeKill, 'the rest are processed now')
  t.same(await rig.processed(), ceIds, 'lost 0')
  const jobs = await db.knex('passbacks').select('ce_id', 'version').orderBy('version')
  t.equal(jobs.length, EVENTS, 'one job per event: duplicated 0')
  t.same(jobs.map(j => j.ce_id), ceIds, 'each event\'s job once, in stream order')
})
