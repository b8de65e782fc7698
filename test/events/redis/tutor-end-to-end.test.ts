/**
 * A default-Tutor-shaped install: the LMS's event bus is Redis Streams (EVENT_BUS_BACKEND unset,
 * only REDIS_URL), topic prefix `dev`, stream `dev-learning-problem-score-lifecycle`. The whole
 * service (buildServer, the outbox worker, the LMS and an LTI 1.1 outcome service as fakes) on a
 * real redis-server. A launch, then the LMS's entry (the upstream producer's exact field layout)
 * gives one job and one delivered grade; the same entry again and a redelivery give nothing new;
 * /ready and /metrics speak of the Redis backend.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import { createLti11ConsumersRepository } from '../../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../../src/launch/lti11/launch.js'
import { newEventMetadata } from '../../../src/events/decode/weighted-score-encoder.js'
import { createRedisEntryEncoder, xaddArgs } from '../../../src/events/redis/redis-entry-encoder.js'
import { buildTestApp } from '../../helpers/build-app.js'
import { signLaunchWithImsLti } from '../../helpers/ims-lti-signer.js'
import { lmsEnv } from '../../helpers/lms-env.js'
import { startFakeLms, usageKey, type FakeBlockSpec } from '../../support/fake-lms.js'
import { startFakeLti11OutcomeService } from '../../support/fake-lti11-outcome-service.js'
import { loadRedisFixtures } from '../../support/redis-event-fixtures.js'
import { redisSkipReason, startRedisServer } from '../../support/redis-server.js'

t.setTimeout(120_000)

const PUBLIC_URL = 'https://tool.example.org'
const CONSUMER = { key: 'canvas', secret: 'canvas-secret' }
const fixtures = loadRedisFixtures()
const first = fixtures.entries[0]!.record.problem_score as { course_id: string, usage_id: string }
const COURSE = first.course_id
const PROBLEM_BLOCK = first.usage_id.split('block@')[1]!
const USAGE = usageKey(COURSE, 'problem', PROBLEM_BLOCK)
const TREE: FakeBlockSpec = {
  type: 'course', id: 'course', children: [{ type: 'chapter', id: 'week1', children: [{ type: 'sequential', id: 'hw1', graded: true, format: 'Homework', children: [{ type: 'vertical', id: 'unit1', children: [{ type: 'problem', id: PROBLEM_BLOCK }] }] }] }]
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))
async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

async function launch (app: FastifyInstance, userId: string, sourcedid: string, outcomeUrl: string) {
  const path = `/lti_provider/courses/${COURSE}/${USAGE}`
  return await app.inject({
    method: 'POST',
    url: path,
    payload: signLaunchWithImsLti(PUBLIC_URL + path, CONSUMER.key, CONSUMER.secret, {
      lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: userId, roles: 'Learner',
      context_id: 'ctx-1', lis_result_sourcedid: sourcedid, lis_outcome_service_url: outcomeUrl
    }).body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }
  })
}

t.test('default Tutor: Redis bus, prefix dev: a launch then the LMS entry grades end to end, once', { skip: redisSkipReason() }, async t => {
  t.equal(fixtures.stream, 'dev-learning-problem-score-lifecycle')
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const lms = await startFakeLms({ courses: [{ id: COURSE, tree: TREE }], ltiConsumers: [{ key: 'lms-relay-key', secret: 'lms-relay-secret' }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti11OutcomeService({ consumers: { [CONSUMER.key]: CONSUMER.secret } })
  t.teardown(() => platform.close())

  // What Tutor gives the LMS: redis://@redis:6379/ and the prefix `dev`; we are told the same.
  const { app } = await buildTestApp(t, {
    ...lmsEnv(lms, PUBLIC_URL),
    REDIS_URL: `redis://@127.0.0.1:${redis.port}/`,
    EVENT_BUS_TOPIC_PREFIX: 'dev',
    REDIS_BLOCK_MS: '200',
    PASSBACK_WORKER_ENABLED: 'true',
    PASSBACK_POLL_INTERVAL_MS: '100'
  })
  t.equal(app.config.eventBusBackend, 'redis', 'REDIS_URL alone selects the Redis backend')
  t.equal(app.eventConsumer, null, 'no Kafka consumer')
  const now = Date.now()
  await createLti11ConsumersRepository(app.knex).insert({
    name: CONSUMER.key, consumerKey: CONSUMER.key, secretEnc: app.secretBox.seal(CONSUMER.secret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['course-v1:edX+*'], usePii: false, requireUserAccount: false, outcomeHosts: ['127.0.0.1'], pinOutcomeHost: false,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })

  await waitFor('/ready', async () => (await app.inject('/ready')).statusCode === 200)
  const ready = (await app.inject('/ready')).json()
  t.match(ready, { checks: { 'event-consumer': { ok: true, detail: 'redis: running' } } })

  const res = await launch(app, 'ada', 'canvas:ada:1', platform.outcomeUrl())
  t.equal(res.statusCode, 200, `launch (${res.body.slice(0, 200)})`)
  const ada = Number((await app.knex('lti_users').where({ lti_user_id: 'ada' }).first()).lms_user_id)

  // The LMS writes the entry as edx-event-bus-redis does: XADD <stream> MAXLEN ~ 10000 * <8 fields>.
  const client = new Redis(redis.url, { lazyConnect: true })
  await client.connect()
  t.teardown(() => client.disconnect())
  const encode = createRedisEntryEncoder()
  const event = { ...(fixtures.entries[0]!.record.problem_score as never as Parameters<typeof encode>[0]), user_id: ada }
  const fields = encode(event, newEventMetadata({ ce_id: '5042a380-e4cb-11f1-9a2b-0242ac120042', ce_time: '2026-11-20T10:15:30.123456+00:00', sourcehost: 'lms-fixture-host' }))
  // Another learner's event first: irrelevant, acked, nothing stored.
  const other = encode({ ...event, user_id: 999_999 }, newEventMetadata())
  await client.call('XADD', ...xaddArgs(fixtures.stream, other))
  await client.call('XADD', ...xaddArgs(fixtures.stream, fields))

  await waitFor('the grade delivered', async () => (await app.knex('passbacks').where({ status: 'delivered' })).length === 1)
  t.same(platform.ledger.map(r => [r.sourcedId, r.score]), [['canvas:ada:1', '0.6666666667']], 'one delivered grade, 2/3')
  const jobs = await app.knex('passbacks').select('ce_id', 'status')
  t.same(jobs.map(j => [j.ce_id, j.status]), [['5042a380-e4cb-11f1-9a2b-0242ac120042', 'delivered']], 'one job')

  // The same event written again (a producer retry) and read again: a duplicate, nothing new.
  await client.call('XADD', ...xaddArgs(fixtures.stream, fields))
  await waitFor('everything acked', async () => {
    const pending = await client.call('XPENDING', fixtures.stream, app.config.redisConsumerGroup) as [number]
    const info = await client.call('XINFO', 'GROUPS', fixtures.stream) as unknown[][]
    return pending[0] === 0 && info[0]!.includes('3-0') === false && (info[0]![info[0]!.indexOf('entries-read') + 1] === 3)
  })
  await sleep(500)
  t.equal(platform.ledger.length, 1, 'no second grade')
  t.equal(Number((await app.knex('passbacks').count({ n: '*' }).first() as { n: number | string }).n), 1, 'no second job')
  const outcomes = await app.knex('processed_events').select('ce_id', 'outcome')
  t.same(outcomes.map(o => o.ce_id), ['5042a380-e4cb-11f1-9a2b-0242ac120042'], 'one processed event')

  // Our group only: never a trim, never another group's position.
  const groups = await client.call('XINFO', 'GROUPS', fixtures.stream) as unknown[][]
  t.equal(groups.length, 1, 'one group on the stream: ours')
  t.equal(groups[0]![1], app.config.redisConsumerGroup)
  t.equal(await client.call('XLEN', fixtures.stream), 3, 'nothing trimmed or deleted by the consumer')

  const metrics = (await app.inject({ url: '/metrics' })).body
  t.match(metrics, 'lti_provider_events_total{outcome="queued",backend="redis"} 1')
  t.match(metrics, 'lti_provider_events_total{outcome="duplicate",backend="redis"} 1')
  t.match(metrics, 'lti_provider_events_total{outcome="irrelevant",backend="redis"} 1')
  t.match(metrics, 'lti_provider_event_bus_gaps_total{backend="redis"} 0')
})
