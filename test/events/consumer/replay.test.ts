import t from 'tap'
import { Command } from 'commander'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { registerEventsCommand } from '../../../src/cli/events-command.js'
import { contextFor } from '../../../src/cli/context.js'
import { parseReplayFrom } from '../../../src/events/consumer/replay-input.js'
import { fullTopicName } from '../../../src/events/decode/event-type.js'
import { toPythonIsoformat } from '../../../src/events/decode/python-isoformat.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../../src/events/decode/weighted-score-encoder.js'
import type { Config } from '../../../src/config.js'
import { testConfig } from '../../helpers/build-app.js'
import { createTestDb } from '../../helpers/db.js'
import { loadEventBusFixtures } from '../../support/event-bus-fixtures.js'
import { createSeeder } from '../../support/grade-targets-seed.js'
import { mockKafkaSkipReason, startMockKafka } from '../../support/kafka-mock-broker.js'

t.setTimeout(300_000)
const fast = { sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100, retry: { initialRetryTime: 100, retries: 3 } }

t.test('--from: ISO 8601 in UTC unless an offset is given, a date, or earliest', async t => {
  t.equal(parseReplayFrom('earliest'), 'earliest')
  t.equal((parseReplayFrom('2023-01-08T06:46:22') as Date).toISOString(), '2023-01-08T06:46:22.000Z', 'Open edX offset_time form, UTC')
  t.equal((parseReplayFrom('2023-01-08T06:46:22.5+02:00') as Date).toISOString(), '2023-01-08T04:46:22.500Z')
  t.equal((parseReplayFrom('2023-01-08T06:46:22Z') as Date).toISOString(), '2023-01-08T06:46:22.000Z')
  t.equal((parseReplayFrom(' 2023-01-08 ') as Date).toISOString(), '2023-01-08T00:00:00.000Z')
  for (const bad of ['yesterday', '2023-02-30T00:00:00', '1673160382', '', '2023-01-08T25:00:00']) {
    t.throws(() => parseReplayFrom(bad), { code: 'EVENT_REPLAY_BAD_TIME' }, JSON.stringify(bad))
  }
})

t.test('events replay: the topic again through the pipeline, duplicates write nothing, the service group untouched', { skip: mockKafkaSkipReason() }, async t => {
  const prefix = `r${Date.now().toString(36)}`
  const topic = fullTopicName(prefix)
  const broker = await startMockKafka({ topics: [{ topic, partitions: 2 }] })
  t.teardown(broker.stop)
  const db = await createTestDb(t)
  const manifest = loadEventBusFixtures()
  const leaf = manifest.messages.find(m => m.name === 'leaf-problem')!
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: 42, lmsUsername: 'learner42' })
  await seed.assignment(user, { lmsUserId: 42, courseKey: leaf.decoded.course_id, usageKey: leaf.decoded.usage_id })

  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  const kafka = new Kafka({ clientId: 'replay-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const message = (ceId: string, userId: number, second: number) => {
    const e = encoder.encode({ ...leaf.decoded, user_id: userId, modified: toPythonIsoformat(new Date(Date.UTC(2026, 10, 20, 10, 0, second))) }, newEventMetadata({ ce_id: ceId }))
    return { key: e.key, value: e.value, headers: e.headers }
  }
  await producer.send({ topic, acks: -1, messages: [message('seen-before', 42, 1), message('someone-else', 7, 2), message('missed', 42, 3), message('missed-too', 42, 4)] })
  await producer.send({ topic, acks: -1, messages: [{ ...message('bad', 42, 5), value: Buffer.from([1, 2, 3, 4, 5, 6]) }] })
  // As the live consumer would have left it: the first event already processed.
  await db.knex('processed_events').insert({ ce_id: 'seen-before', ce_type: manifest.event_type, outcome: 'queued', processed_at: 1 })

  const config: Config = testConfig({ DATABASE_URL: db.url, KAFKA_BROKERS: broker.bootstrap.join(','), KAFKA_GROUP_ID: `${prefix}-svc`, EVENT_BUS_TOPIC_PREFIX: prefix })
  let out = ''
  const run = async (args: string[], cfg: Config = config) => {
    out = ''
    const program = new Command().exitOverride()
    registerEventsCommand(program, {
      withContext: contextFor({ config: cfg, knex: db.knex }),
      write: text => { out += text },
      tuning: fast
    })
    await program.parseAsync(args, { from: 'user' })
  }

  await run(['events', 'replay', '--from', 'earliest', '--group', `${prefix}-replay`, '--json'])
  const result = JSON.parse(out)
  t.match(result, { complete: true, processed: 5, outcomes: { duplicate: 1, irrelevant: 1, queued: 2, dead: 1 } })
  t.same(result.partitions.map((p: { partition: number }) => p.partition).sort(), [...new Set(result.partitions.map((p: { partition: number }) => p.partition))].sort())
  t.same((await db.knex('passbacks').select('ce_id').orderBy('id')).map(j => j.ce_id), ['missed', 'missed-too'], 'jobs only for what had not been processed')
  t.equal(Number((await db.knex('dead_letters').count({ n: '*' }))[0]?.n), 1)

  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  for (const groupId of [`${prefix}-replay`, `${prefix}-svc`]) {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    t.same(offsets?.partitions.map(p => p.offset), ['-1', '-1'], `${groupId}: no committed offsets`)
  }

  await run(['events', 'replay', '--from', 'earliest'])
  t.match(out, /^partition\s+from\s+to\n/, 'a table of the partitions replayed')
  t.match(out, /replayed 5 record\(s\): irrelevant=1 duplicate=3 dead=1\n$/, 'a second replay changes nothing')
  t.equal(Number((await db.knex('passbacks').count({ n: '*' }))[0]?.n), 2)
  t.equal(Number((await db.knex('dead_letters').count({ n: '*' }))[0]?.n), 1, 'the poison record keeps its one dead letter')

  await run(['events', 'replay', '--from', '2200-01-01T00:00:00'])
  t.match(out, /replayed 0 record\(s\): nothing/, 'nothing written after that time')

  await t.rejects(run(['events', 'replay', '--from', 'soon']), { code: 'EVENT_REPLAY_BAD_TIME' })
  await t.rejects(run(['events', 'replay', '--from', 'earliest'], testConfig({ DATABASE_URL: db.url })), { code: 'EVENT_BUS_NOT_CONFIGURED' })
  await t.rejects(run(['events', 'replay']), /required option '--from <time>'/)
})
