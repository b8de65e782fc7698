import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { createKnex } from '../../../src/db/connection.js'
import { migrateLatest } from '../../../src/db/migrate.js'
import { createEventConsumer } from '../../../src/events/consumer/event-consumer.js'
import { createEventPipeline } from '../../../src/events/consumer/event-pipeline.js'
import { kafkaConnectionFromConfig } from '../../../src/events/consumer/kafka-client.js'
import type { ProcessResult } from '../../../src/events/consumer/message-processor.js'
import { fullTopicName } from '../../../src/events/decode/event-type.js'
import { toPythonIsoformat } from '../../../src/events/decode/python-isoformat.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../../src/events/decode/weighted-score-encoder.js'
import { testConfig } from '../../helpers/build-app.js'
import { createTestDb, testBackend } from '../../helpers/db.js'
import { loadEventBusFixtures } from '../../support/event-bus-fixtures.js'
import { createSeeder } from '../../support/grade-targets-seed.js'
import { mockKafkaSkipReason, startMockKafka } from '../../support/kafka-mock-broker.js'

t.setTimeout(300_000)

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const EVENTS = 20
const KILL_AFTER = 6
const silent = { debug () {}, info () {}, warn () {}, error () {} }
const fast = { sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100, retry: { initialRetryTime: 100, retries: 3 } }

/**
 * The consumer as its own process: the real pipeline and kafkajs consumer, each record slowed after
 * its transaction committed (and before its offset is resolved) and reported on stdout, so the test
 * can SIGKILL it in the middle of a batch, before any commit.
 */
const CHILD = `
const root = process.env.REPO_ROOT
const { loadConfig } = await import(root + 'src/config.ts')
const { createKnex } = await import(root + 'src/db/connection.ts')
const { createEventPipeline } = await import(root + 'src/events/consumer/event-pipeline.ts')
const { createEventConsumer } = await import(root + 'src/events/consumer/event-consumer.ts')
const { kafkaConnectionFromConfig } = await import(root + 'src/events/consumer/kafka-client.ts')
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
const consumer = createEventConsumer({
  connection: kafkaConnectionFromConfig(config), groupId: config.KAFKA_GROUP_ID, topic: config.eventBusTopic, fromBeginning: true,
  processor, logger: silent,
  tuning: { ...JSON.parse(process.env.TUNING), autoCommitInterval: 600000 }
})
await consumer.start()
process.stdout.write('RUNNING\\n')
`

async function database (t: { teardown: (fn: () => unknown) => void }) {
  if (testBackend === 'mariadb') return createTestDb(t)
  // Two processes share the database: SQLite must be a file (WAL) here, not memory.
  const dir = mkdtempSync(join(tmpdir(), 'lti-crash-'))
  const url = `sqlite:${join(dir, 'db.sqlite')}`
  const knex = createKnex({ url })
  await migrateLatest(knex)
  t.teardown(async () => { await knex.destroy(); rmSync(dir, { recursive: true, force: true }) })
  return { knex, url }
}

t.test('killing the consumer mid-batch and restarting loses no event and duplicates no job', { skip: mockKafkaSkipReason() }, async t => {
  const prefix = `k${Date.now().toString(36)}`
  const topic = fullTopicName(prefix)
  const broker = await startMockKafka({ topics: [{ topic, partitions: 1 }] })
  t.teardown(broker.stop)
  const db = await database(t)
  const manifest = loadEventBusFixtures()
  const leaf = manifest.messages.find(m => m.name === 'leaf-problem')!
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: 42, lmsUsername: 'learner42' })
  await seed.assignment(user, { lmsUserId: 42, courseKey: leaf.decoded.course_id, usageKey: leaf.decoded.usage_id })

  const env = { DATABASE_URL: db.url, KAFKA_BROKERS: broker.bootstrap.join(','), KAFKA_GROUP_ID: `${prefix}-group`, EVENT_BUS_TOPIC_PREFIX: prefix }
  const config = testConfig(env)

  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  const ceIds = Array.from({ length: EVENTS }, (_, i) => `crash-${i}`)
  const producer = new Kafka({ clientId: 'crash-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  await producer.send({
    topic,
    acks: -1,
    messages: ceIds.map((ceId, i) => {
      const e = encoder.encode({ ...leaf.decoded, weighted_earned: i % 4, weighted_possible: 3, modified: toPythonIsoformat(new Date(Date.UTC(2026, 10, 20, 10, 0, i))) }, newEventMetadata({ ce_id: ceId }))
      return { key: e.key, value: e.value, headers: e.headers }
    })
  })
  await producer.disconnect()

  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: ROOT,
    env: { ...process.env, REPO_ROOT: ROOT, CHILD_ENV: JSON.stringify({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env }), TUNING: JSON.stringify(fast) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
  const done: string[] = []
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not process ${KILL_AFTER} records: ${stderr.slice(-2000)}`)), 120_000)
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
  const committedBeforeKill = Number((await db.knex('processed_events').count({ n: '*' }))[0]?.n)
  t.ok(committedBeforeKill >= KILL_AFTER && committedBeforeKill < EVENTS, `${committedBeforeKill} events recorded before the kill`)

  // Restart (here, in the test process) in the same group: no offset was committed, all is redelivered.
  const outcomes: ProcessResult['outcome'][] = []
  const pipeline = createEventPipeline({ config, knex: db.knex, logger: silent })
  await pipeline.relevantUsers.load()
  const consumer = createEventConsumer({
    connection: kafkaConnectionFromConfig(config), groupId: config.KAFKA_GROUP_ID, topic, fromBeginning: true,
    processor: pipeline.processor, logger: silent, kafkaLogLevel: logLevel.NOTHING, tuning: fast,
    onResolved: (_topic, _partition, _offset, result) => { outcomes.push(result.outcome) }
  })
  t.teardown(() => consumer.stop())
  await consumer.start()
  const deadline = Date.now() + 120_000
  while (outcomes.length < EVENTS && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
  t.equal(outcomes.length, EVENTS, 'every record delivered again from the last committed offset')
  t.equal(outcomes.filter(o => o === 'duplicate').length, committedBeforeKill, 'the ones recorded before the kill are duplicates')
  t.equal(outcomes.filter(o => o === 'queued').length, EVENTS - committedBeforeKill, 'the rest are processed now')

  const events = await db.knex('processed_events').select('ce_id').orderBy('ce_id')
  t.same(events.map(e => e.ce_id).sort(), [...ceIds].sort(), 'no event lost')
  const jobs = await db.knex('passbacks').select('ce_id', 'version', 'score_given').orderBy('version')
  t.equal(jobs.length, EVENTS, 'one job per event, none twice')
  t.same(jobs.map(j => Number(j.version)), Array.from({ length: EVENTS }, (_, i) => i + 1), 'versions 1..N, in event order')
  t.same(jobs.map(j => j.ce_id), ceIds, 'each event\'s job once, in order')
  t.same(jobs.map(j => Number(j.score_given)), ceIds.map((_, i) => i % 4))
  t.match(await db.knex('problem_scores').first(), { weighted_earned: (EVENTS - 1) % 4, ce_id: ceIds.at(-1) }, 'the ledger holds the newest score')

  // A graceful stop commits: the next member of the group starts after the last record.
  await consumer.stop()
  outcomes.length = 0
  const next = createEventConsumer({
    connection: kafkaConnectionFromConfig(config), groupId: config.KAFKA_GROUP_ID, topic, fromBeginning: true,
    processor: pipeline.processor, logger: silent, kafkaLogLevel: logLevel.NOTHING, tuning: fast,
    onResolved: (_topic, _partition, _offset, result) => { outcomes.push(result.outcome) }
  })
  t.teardown(() => next.stop())
  await next.start()
  const later = new Kafka({ clientId: 'crash-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await later.connect()
  const e = encoder.encode({ ...leaf.decoded, modified: toPythonIsoformat(new Date(Date.UTC(2026, 10, 21))) }, newEventMetadata({ ce_id: 'after-restart' }))
  await later.send({ topic, acks: -1, messages: [{ key: e.key, value: e.value, headers: e.headers }] })
  await later.disconnect()
  while (outcomes.length < 1 && Date.now() < deadline + 60_000) await new Promise(resolve => setTimeout(resolve, 100))
  await new Promise(resolve => setTimeout(resolve, 500))
  t.same(outcomes, ['queued'], 'only the new record: the offsets were committed')
})
