import t from 'tap'
import { logLevel } from 'kafkajs'
import { createRelevantUserSource } from '../../../src/events/consumer/relevant-user-source.js'
import type { RelevantUserSource } from '../../../src/events/consumer/relevant-users.js'
import { fullTopicName } from '../../../src/events/decode/event-type.js'
import { buildServer } from '../../../src/server.js'
import { testConfig } from '../../helpers/build-app.js'
import { createTestDb } from '../../helpers/db.js'
import { createSeeder } from '../../support/grade-targets-seed.js'
import { mockKafkaSkipReason, startMockKafka } from '../../support/kafka-mock-broker.js'

t.setTimeout(120_000)

const skip = mockKafkaSkipReason()

t.test('/ready says 503 while the LTI users load and until the group is joined, then 200', { skip }, async t => {
  const prefix = `r${Date.now().toString(36)}`
  const broker = await startMockKafka({ topics: [{ topic: fullTopicName(prefix), partitions: 1 }] })
  t.teardown(broker.stop)
  const db = await createTestDb(t)
  const seed = createSeeder(db.knex)
  await seed.lti11User({ lmsUserId: 42, lmsUsername: 'learner42' })

  // The first page of LTI users waits until the test lets it through.
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  const real = createRelevantUserSource(db.knex)
  let pages = 0
  const source: RelevantUserSource = { async page (...args) { pages++; await gate; return await real.page(...args) } }

  const config = testConfig({ DATABASE_URL: db.url, KAFKA_BROKERS: broker.bootstrap.join(','), KAFKA_GROUP_ID: `${prefix}-group`, EVENT_BUS_TOPIC_PREFIX: prefix })
  const app = await buildServer(config, {
    knex: db.knex,
    overrides: {
      relevantUserSource: source,
      kafkaLogLevel: logLevel.NOTHING,
      consumerTuning: { sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 }
    }
  })
  await app.ready()
  t.teardown(() => app.close())

  while (pages === 0) await new Promise(resolve => setTimeout(resolve, 10))
  const loading = await app.inject({ url: '/ready' })
  t.equal(loading.statusCode, 503, 'not ready while the LTI users load')
  t.same(loading.json().checks['event-consumer'], { ok: false, detail: 'loading LTI users' })
  t.equal(loading.json().checks.database.ok, true, 'only the consumer check fails')
  t.equal(app.eventConsumer?.status().state, 'idle', 'the consumer waits for the set')

  release()
  const seen = new Set<string>()
  const deadline = Date.now() + 60_000
  for (;;) {
    const res = await app.inject({ url: '/ready' })
    const check = res.json().checks['event-consumer'] as { ok: boolean, detail?: string }
    if (res.statusCode === 200) {
      t.same(check, { ok: true, detail: 'running' })
      break
    }
    seen.add(`${check.ok}:${check.detail ?? ''}`)
    if (Date.now() > deadline) throw new Error(`not ready within 60 s (${[...seen].join(', ')})`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  t.ok(seen.has('false:starting'), `503 while connecting and joining (${[...seen].join(', ')})`)
  t.notOk([...seen].some(s => s.startsWith('true')), 'every 503 came from the consumer check')
  t.equal(app.relevantUsers.loaded, true)
  t.equal(app.relevantUsers.has(42), true, 'the set holds the seeded learner')
  t.equal(app.eventConsumer?.status().state, 'running')

  // Idle for longer than the 6 s session: fetches and heartbeats keep it fresh, so it is not "stalled".
  await new Promise(resolve => setTimeout(resolve, 7000))
  const idle = await app.inject({ url: '/ready' })
  t.equal(idle.statusCode, 200, `still ready after 7 s without events (${idle.body})`)
  const status = app.eventConsumer!.status()
  t.ok(Date.now() - status.lastProgressAt < 2000, `progress seen ${Date.now() - status.lastProgressAt} ms ago`)
  t.equal(status.stallAfterMs, 6000, 'stalled after one session timeout')
})
