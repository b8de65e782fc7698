import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Kafka, Partitioners, logLevel, type IHeaders, type Producer } from 'kafkajs'
import type { Knex } from 'knex'
import type { ServiceOverrides } from '../../../src/compose/overrides.js'
import type { ConsumerTuning } from '../../../src/events/consumer/event-consumer.js'
import { fullTopicName } from '../../../src/events/decode/event-type.js'
import type { WeightedScoreChanged } from '../../../src/events/decode/weighted-score-changed.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../../src/events/decode/weighted-score-encoder.js'
import { toPythonIsoformat } from '../../../src/events/decode/python-isoformat.js'
import { LmsClient } from '../../../src/lms/lms-client.js'
import { buildServer } from '../../../src/server.js'
import { testConfig } from '../../helpers/build-app.js'
import { createTestDb, type TestDb } from '../../helpers/db.js'
import { fixtureHeaders, loadEventBusFixtures } from '../../support/event-bus-fixtures.js'
import { startFakeLms, usageKey, DEMO_COURSE_ID, type FakeLms } from '../../support/fake-lms.js'
import { startFakeSchemaRegistry, type FakeSchemaRegistry } from '../../support/fake-schema-registry.js'
import { createSeeder } from '../../support/grade-targets-seed.js'
import { faultInjectionSkipReason, mockKafkaSkipReason, startMockKafka, type MockKafka } from '../../support/kafka-mock-broker.js'

// Group joins and rebalances against a broker take seconds (kafka-testing.md §2.4).
t.setTimeout(300_000)

const skip = mockKafkaSkipReason()
const manifest = loadEventBusFixtures()
const leaf = manifest.messages.find(m => m.name === 'leaf-problem')!
const OTHER_COURSE = 'course-v1:OpenedX+Other+2026'
const FAST: ConsumerTuning = {
  sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100,
  retry: { initialRetryTime: 100, retries: 3, maxRetryTime: 1000 },
  recordRetry: { initialMs: 200, maxMs: 1000 },
  restart: { initialMs: 200, maxMs: 1000 }
}

interface Harness {
  app: FastifyInstance
  db: TestDb
  broker: MockKafka
  registry: FakeSchemaRegistry
  lms: FakeLms
  topic: string
  producer: Producer
  send: (message: { key?: Buffer | null, value: Buffer | null, headers: IHeaders, partition?: number }) => Promise<{ partition: number, offset: string }>
  event: (event: Partial<WeightedScoreChanged>, ceId?: string) => { key: Buffer, value: Buffer, headers: IHeaders }
  metric: (outcome: string) => Promise<number>
  count: (table: string, where?: Record<string, unknown>) => Promise<number>
}

async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function harness (t: { teardown: (fn: () => unknown) => void }, options: { seed?: (knex: Knex, lms: FakeLms) => Promise<void>, overrides?: ServiceOverrides } = {}): Promise<Harness> {
  const prefix = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`
  const topic = fullTopicName(prefix)
  const broker = await startMockKafka({ topics: [{ topic, partitions: 2 }] })
  t.teardown(broker.stop)
  const registry = await startFakeSchemaRegistry({ schemas: { [manifest.value_schema_id]: manifest.value_schema } })
  t.teardown(registry.close)
  const lms = await startFakeLms({ courses: [{ id: DEMO_COURSE_ID }, { id: OTHER_COURSE }] })
  t.teardown(() => lms.close())
  // Owned (and closed) by the app's services, as any LMS client they build.
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', retries: 0, timeoutMs: 400 })
  const db = await createTestDb(t)
  await options.seed?.(db.knex, lms)

  const config = testConfig({
    DATABASE_URL: db.url,
    KAFKA_BROKERS: broker.bootstrap.join(','),
    KAFKA_GROUP_ID: `${prefix}-group`,
    EVENT_BUS_TOPIC_PREFIX: prefix,
    SCHEMA_REGISTRY_URL: registry.url,
    LTI_AGGREGATE_SCORE_PASSBACK_DELAY: '900',
    // Both partitions at once: ordering must still hold within each.
    KAFKA_PARTITIONS_CONCURRENCY: '2'
  })
  const app = await buildServer(config, {
    knex: db.knex,
    features: { worker: false },
    overrides: { lmsClient: () => client, consumerTuning: FAST, kafkaLogLevel: logLevel.NOTHING, ...options.overrides }
  })
  await app.ready()
  t.teardown(() => app.close())
  await waitFor('the consumer to join', () => app.eventConsumer?.status().state === 'running')

  const kafka = new Kafka({ clientId: 'test-producer', brokers: broker.bootstrap, logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  let tick = 0
  return {
    app, db, broker, registry, lms, topic, producer,
    async send (message) {
      const [meta] = await producer.send({ topic, acks: -1, messages: [message] })
      return { partition: meta!.partition, offset: meta!.baseOffset! }
    },
    event (event, ceId) {
      // Increasing `modified` so later events are newer, as the LMS's would be.
      const modified = toPythonIsoformat(new Date(Date.UTC(2026, 10, 20) + ++tick * 1000))
      const e = encoder.encode({ ...leaf.decoded, modified, ...event }, newEventMetadata(ceId ? { ce_id: ceId } : {}))
      return { key: e.key, value: e.value, headers: e.headers }
    },
    async metric (outcome) {
      const metric = await app.metrics.getSingleMetric('lti_provider_events_total')?.get()
      return metric?.values.find(v => v.labels.outcome === outcome)?.value ?? 0
    },
    async count (table, where = {}) {
      return Number((await db.knex(table).where(where).count({ n: '*' }))[0]?.n)
    }
  }
}

t.test('the issue\'s done-when list against the mock cluster', { skip }, async t => {
  let learner2 = { id: 0, username: '' }
  let learner3 = { id: 0, username: '' }
  let leafAssignment = 0
  let unitResource = 0
  const h = await harness(t, {
    async seed (knex, lms) {
      const seed = createSeeder(knex)
      // The fixture's learner (LMS user 42) launched through LTI 1.1 on the fixture's problem.
      const u42 = await seed.lti11User({ lmsUserId: 42, lmsUsername: 'learner42', outcomeUrl: 'https://canvas.example.edu/api/lti/v1/tools/3/grade_passback' })
      leafAssignment = await seed.assignment(u42, { lmsUserId: 42, courseKey: leaf.decoded.course_id, usageKey: leaf.decoded.usage_id })
      // Another learner launched through LTI 1.3 on a unit of the demo course.
      learner2 = lms.state.addUser({ username: 'unit-learner', email: 'unit@example.com' })
      const profile = await seed.lti13User({ lmsUserId: learner2.id, lmsUsername: learner2.username })
      unitResource = await seed.resource(profile.profileId, { lmsUserId: learner2.id, courseKey: DEMO_COURSE_ID, usageKey: usageKey(DEMO_COURSE_ID, 'vertical', 'unit1') })
      learner3 = lms.state.addUser({ username: 'other-course-learner', email: 'o@example.com' })
      const u3 = await seed.lti11User({ lmsUserId: learner3.id, lmsUsername: learner3.username })
      await seed.assignment(u3, { lmsUserId: learner3.id, courseKey: OTHER_COURSE, usageKey: usageKey(OTHER_COURSE, 'sequential', 'homework1') })
    }
  })

  await t.test('an event for a learner launched by LTI 1.1 on the problem creates one job 2/3', async t => {
    // The Apache Avro fixture bytes, with their exact headers and key.
    await h.send({ key: leaf.key, value: leaf.value, headers: fixtureHeaders(leaf) })
    await waitFor('the leaf job', async () => await h.count('passbacks') === 1)
    const job = await h.db.knex('passbacks').first()
    t.match(job, { kind: 'lti11', graded_assignment_id: leafAssignment, method: 'leaf', version: 1, status: 'pending', ce_id: leaf.headers.ce_id, platform_host: 'canvas.example.edu', score_given: 2, score_maximum: 3 })
    t.equal(job.score_given / job.score_maximum, 2 / 3)
    t.ok(Math.abs(Number(job.due_at) - Date.now()) < 60_000, 'due now')
    t.equal(await h.metric('queued'), 1)
  })

  await t.test('the same event redelivered creates none', async t => {
    await h.send({ key: leaf.key, value: leaf.value, headers: fixtureHeaders(leaf) })
    await waitFor('the duplicate', async () => await h.metric('duplicate') === 1)
    t.equal(await h.count('passbacks'), 1)
    t.equal(await h.count('processed_events'), 1)
  })

  await t.test('a unit-level launch: one delayed job; three quick events leave one to send, the newest', async t => {
    const p1 = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
    const p2 = usageKey(DEMO_COURSE_ID, 'problem', 'p2')
    const base = { user_id: learner2.id, course_id: DEMO_COURSE_ID }
    await h.send(h.event({ ...base, usage_id: p1 }))
    await waitFor('the composite job', async () => await h.count('passbacks', { graded_resource_id: unitResource }) === 1)
    const first = await h.db.knex('passbacks').where({ graded_resource_id: unitResource }).first()
    t.match(first, { kind: 'lti13', method: 'unit', version: 1, score_given: null, status: 'pending' })
    const delay = Number(first.due_at) - Date.now()
    t.ok(delay > 850_000 && delay <= 900_000, `due after LTI_AGGREGATE_SCORE_PASSBACK_DELAY (${delay} ms)`)

    await h.producer.send({ topic: h.topic, acks: -1, messages: [h.event({ ...base, usage_id: p1, weighted_earned: 1 }), h.event({ ...base, usage_id: p2 }), h.event({ ...base, usage_id: p1, weighted_earned: 3 })] })
    await waitFor('three more versions', async () => await h.count('passbacks', { graded_resource_id: unitResource }) === 4)
    const jobs = await h.db.knex('passbacks').where({ graded_resource_id: unitResource }).orderBy('version')
    t.same(jobs.map(j => [Number(j.version), j.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'superseded'], [4, 'pending']], 'exactly one to send')
    t.match(await h.db.knex('graded_resources').where({ id: unitResource }).first(), { version_number: 4 })
  })

  await t.test('an irrelevant event creates nothing', async t => {
    const before = await h.count('processed_events')
    await h.send(h.event({ user_id: 31337 }))
    await waitFor('the irrelevant outcome', async () => await h.metric('irrelevant') === 1)
    t.equal(await h.count('processed_events'), before, 'no row written')
    t.equal(await h.count('problem_scores', { lms_user_id: 31337 }), 0)
    // Another event type on the same topic: resolved on its header, never decoded.
    const requests = h.registry.counters.requests
    await h.send({ key: null, value: Buffer.from('{}'), headers: { ...fixtureHeaders(leaf), ce_type: 'org.openedx.learning.course.passing.status.updated.v1' } })
    await waitFor('the other type', async () => await h.metric('other_type') === 1)
    t.equal(h.registry.counters.requests, requests)
  })

  await t.test('poison records go to dead_letters with their offset and the consumer moves on', async t => {
    const headers = fixtureHeaders(leaf)
    const poison: Array<[string, { value: Buffer | null, headers: IHeaders }, string]> = [
      ['wrong magic', { value: Buffer.concat([Buffer.from([9]), leaf.value.subarray(1)]), headers: { ...headers, ce_id: 'p-magic' } }, 'EVENT_BAD_MAGIC'],
      ['unknown schema id', { value: Buffer.concat([Buffer.from([0, 0, 0, 0, 99]), leaf.value.subarray(5)]), headers: { ...headers, ce_id: 'p-schema' } }, 'EVENT_UNKNOWN_SCHEMA'],
      ['truncated Avro', { value: leaf.value.subarray(0, 40), headers: { ...headers, ce_id: 'p-trunc' } }, 'EVENT_TRUNCATED'],
      ['duplicated ce_id', { value: leaf.value, headers: { ...headers, ce_id: ['d1', 'd2'] } }, 'EVENT_DUPLICATE_HEADER'],
      ['missing ce_type', { value: leaf.value, headers: Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'ce_type')) }, 'EVENT_MISSING_HEADER'],
      ['unknown block', h.event({ user_id: learner2.id, course_id: DEMO_COURSE_ID, usage_id: usageKey(DEMO_COURSE_ID, 'problem', 'deleted') }), 'GRADES_UNKNOWN_BLOCK']
    ]
    const placed: Array<{ partition: number, offset: string, code: string }> = []
    for (const [, message, code] of poison) placed.push({ ...await h.send({ ...message, key: leaf.key, partition: 1 }), code })
    await h.send(h.event({}, 'after-the-poison'))
    await waitFor('every dead letter', async () => await h.count('dead_letters') === poison.length)
    for (const [i, p] of placed.entries()) {
      t.match(await h.db.knex('dead_letters').where({ topic: h.topic, partition: p.partition, offset: p.offset }).first(), { error_code: p.code }, `${poison[i]![0]}: ${p.code} at ${p.partition}/${p.offset}`)
    }
    await waitFor('the next good event', async () => await h.count('processed_events', { ce_id: 'after-the-poison' }) === 1)
    t.equal(await h.metric('dead'), poison.length)
  })

  await t.test('registry down: retried without losing the record, no dead letter', async t => {
    // A schema id not yet cached, so the registry is really asked.
    h.registry.addSchema(21, manifest.value_schema)
    h.registry.setMode('down')
    const e = h.event({}, 'while-registry-down')
    await h.send({ ...e, value: Buffer.concat([Buffer.from([0, 0, 0, 0, 21]), e.value.subarray(5)]) })
    await waitFor('a retry', async () => await h.metric('retry') >= 2)
    t.equal(await h.count('processed_events', { ce_id: 'while-registry-down' }), 0)
    t.equal(await h.count('dead_letters', { error_code: 'EVENT_REGISTRY_UNAVAILABLE' }), 0)
    t.equal((await h.app.readiness.run()).checks['event-consumer']?.ok, true, 'a retrying partition is not a crashed consumer')
    h.registry.setMode('up')
    await waitFor('the record after the registry came back', async () => await h.count('processed_events', { ce_id: 'while-registry-down' }) === 1)
  })

  await t.test('LMS timeout during the block-tree fetch: retried, then the job', async t => {
    h.lms.state.failNext('blocks', 2, 'timeout')
    const retries = await h.metric('retry')
    await h.send(h.event({ user_id: learner3.id, course_id: OTHER_COURSE, usage_id: usageKey(OTHER_COURSE, 'problem', 'p3') }, 'lms-slow'))
    await waitFor('the job after the LMS answered', async () => await h.count('processed_events', { ce_id: 'lms-slow' }) === 1)
    t.ok(await h.metric('retry') >= retries + 2, 'two retries')
    t.match(await h.db.knex('passbacks').where({ ce_id: 'lms-slow' }), [{ method: 'subsection', status: 'pending' }])
    t.equal(await h.count('dead_letters', { error_code: 'GRADES_LMS_UNAVAILABLE' }), 0)
  })

  await t.test('metrics and readiness', async t => {
    const text = await h.app.metrics.metrics()
    for (const outcome of ['irrelevant', 'queued', 'duplicate', 'dead', 'other_type', 'retry']) t.match(text, `lti_provider_events_total{outcome="${outcome}",backend="kafka"}`)
    t.match(text, /lti_provider_event_batch_duration_seconds_count\{backend="kafka"\} \d+/)
    t.match(text, new RegExp(`lti_provider_event_consumer_lag\\{topic="${h.topic}",partition="[01]",backend="kafka"\\} 0`))
    t.match(text, /lti_provider_relevant_users 3/)
    t.match(await h.app.readiness.run(), { ready: true, checks: { 'event-consumer': { ok: true, detail: 'running' } } })
  })
})

t.test('a crashed consumer fails readiness and recovers', { skip: faultInjectionSkipReason() }, async t => {
  const h = await harness(t)
  await h.broker.command('down -1')
  await waitFor('the crash', () => h.app.eventConsumer?.status().state !== 'running', 60_000)
  await waitFor('readiness to fail', async () => (await h.app.readiness.run()).checks['event-consumer']?.ok === false, 60_000)
  t.ok(h.app.eventConsumer!.status().crashes >= 1)
  await h.broker.command('up -1')
  await waitFor('the consumer to rejoin', () => h.app.eventConsumer?.status().state === 'running', 90_000)
  t.match(await h.app.readiness.run(), { checks: { 'event-consumer': { ok: true } } })
  const crashes = await h.app.metrics.getSingleMetric('lti_provider_event_consumer_crashes_total')?.get()
  t.ok((crashes?.values[0]?.value ?? 0) >= 1, 'crash counted')
  await h.app.close()
  t.equal(h.app.eventConsumer?.status().state, 'stopped', 'closed before the database')
})

t.test('no KAFKA_BROKERS: no consumer, the relevance hook still exists', async t => {
  const db = await createTestDb(t)
  const lines: string[] = []
  const config = testConfig({ DATABASE_URL: db.url })
  const app = await buildServer(config, { knex: db.knex, fastify: { logger: { level: 'info', stream: { write: (text: string) => { lines.push(JSON.parse(text).msg) } } } } })
  await app.ready()
  t.teardown(() => app.close())
  t.equal(app.eventConsumer, null)
  t.equal(app.redisEventSource, null)
  t.match(lines.filter(line => /KAFKA_BROKERS/.test(line)), [/neither KAFKA_BROKERS nor REDIS_URL is set/])
  app.relevantUsers.add(5)
  t.ok(app.relevantUsers.has(5))
  // What both launch services call for a learner they map for the first time.
  app.services.launch.announceNewLearner(6)
  t.ok(app.relevantUsers.has(6), 'subscribed to the launch plugin\'s new-learner hook')
  t.same(Object.keys((await app.readiness.run()).checks), ['database'], 'no consumer check')
})

t.test('Kafka unreachable at boot: the app starts, readiness fails once a connect failed, close does not hang', async t => {
  const db = await createTestDb(t)
  const app = await buildServer(testConfig({ DATABASE_URL: db.url, KAFKA_BROKERS: '127.0.0.1:1' }), {
    knex: db.knex,
    overrides: { consumerTuning: { ...FAST, retry: { initialRetryTime: 50, retries: 1, maxRetryTime: 100 } }, kafkaLogLevel: logLevel.NOTHING }
  })
  await app.ready()
  t.match(await app.readiness.run(), { checks: { database: { ok: true } } }, 'ready() did not wait for Kafka')
  await waitFor('a failed connect', () => (app.eventConsumer?.status().crashes ?? 0) >= 1, 30_000)
  t.match(await app.readiness.run(), { ready: false, checks: { 'event-consumer': { ok: false, detail: /ECONNREFUSED/ } } })
  const started = Date.now()
  await app.close()
  t.ok(Date.now() - started < 8000, `closed in ${Date.now() - started} ms`)
  t.equal(app.eventConsumer?.status().state, 'stopped')
})
