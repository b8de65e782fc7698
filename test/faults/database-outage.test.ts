/**
 * Fault: the database is unavailable for a while (MariaDB stopped, then started again on the same
 * port). The whole service runs as in production (buildServer, its own knex pool on DATABASE_URL,
 * the event consumer on a Kafka-protocol broker, the outbox worker, the LMS and an LTI 1.1 outcome
 * service as fakes), on a MariaDB server of this test's own: the shared test server is never touched.
 *
 * It is about MariaDB whatever TEST_DATABASE says, so it runs in both CI passes.
 *
 * Shown: while the database is down, /ready says 503 (and /health stays 200: restarting the process
 * would not help), launches and logins answer 503 DATABASE_UNAVAILABLE on a page without stack or
 * driver detail, no LMS account is created, the consumer commits no offset past what it stored, the
 * worker sends nothing it cannot record. Once the server is back the pool reconnects by itself,
 * /ready is 200, launches work, and every score change reaches the gradebook exactly once, except the
 * one documented case of a platform answer arriving after the database went away (resent once, same
 * value: replaceResult sets a grade, it does not add one).
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Kafka, Partitioners, logLevel, type Admin } from 'kafkajs'
import { buildServer } from '../../src/server.js'
import { isDatabaseUnavailable } from '../../src/db/connection.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { fullTopicName } from '../../src/events/decode/event-type.js'
import { toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../src/events/decode/weighted-score-encoder.js'
import { testConfig } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { loadEventBusFixtures } from '../support/event-bus-fixtures.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeBlockSpec } from '../support/fake-lms.js'
import { startFakeLti11OutcomeService } from '../support/fake-lti11-outcome-service.js'
import { mockKafkaSkipReason, startMockKafka } from '../support/kafka-mock-broker.js'
import { mariadbSkipReason, startMariadbServer } from '../support/mariadb-server.js'
import { lmsEnv } from '../helpers/lms-env.js'

t.setTimeout(180_000)

const PUBLIC_URL = 'https://tool.example.org'
const COURSE = DEMO_COURSE_ID
const PROBLEMS = ['p1', 'p2', 'p3', 'p4'].map(p => usageKey(COURSE, 'problem', p))
const TREE: FakeBlockSpec = {
  type: 'course', id: 'course', children: [{ type: 'chapter', id: 'week1', children: [{ type: 'sequential', id: 'hw1', graded: true, format: 'Homework', children: [{ type: 'vertical', id: 'unit1', children: ['p1', 'p2', 'p3', 'p4'].map(id => ({ type: 'problem', id })) }] }] }]
}
const PATH = (usage: string) => `/lti_provider/courses/${COURSE}/${usage}`
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const CONSUMER = { key: 'canvas', secret: 'canvas-secret' }

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<number> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
  return Date.now() - started
}

function launchBody (userId: string, usage: string, sourcedid?: string, outcomeUrl?: string): string {
  return signLaunchWithImsLti(PUBLIC_URL + PATH(usage), CONSUMER.key, CONSUMER.secret, {
    lti_message_type: 'basic-lti-launch-request',
    lti_version: 'LTI-1p0',
    resource_link_id: `rl-${usage}`,
    user_id: userId,
    roles: 'Learner',
    context_id: 'ctx-1',
    ...(sourcedid && outcomeUrl ? { lis_result_sourcedid: sourcedid, lis_outcome_service_url: outcomeUrl } : {})
  }).body
}

async function launch (app: FastifyInstance, userId: string, usage: string, sourcedid?: string, outcomeUrl?: string) {
  return await app.inject({
    method: 'POST',
    url: PATH(usage),
    payload: launchBody(userId, usage, sourcedid, outcomeUrl),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }
  })
}

async function committedOffset (admin: Admin, groupId: string, topic: string): Promise<number> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return Number(entry?.partitions.find(p => p.partition === 0)?.offset ?? -1)
}

const skip = mariadbSkipReason() || mockKafkaSkipReason()

t.test('what counts as "database unavailable" (503) and what stays a bug (500)', async t => {
  const err = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields)
  for (const e of [err({ code: 'ECONNREFUSED' }), err({ code: 'PROTOCOL_CONNECTION_LOST' }), err({ errno: 1053 }), err({ name: 'KnexTimeoutError' }),
    err({ code: 'SQLITE_IOERR_WRITE' }), err({ code: 'SQLITE_BUSY' }), new Error('wrapped', { cause: err({ code: 'ECONNRESET' }) })]) {
    t.ok(isDatabaseUnavailable(e), `${String((e as { code?: unknown }).code ?? (e as { errno?: unknown }).errno ?? e.name ?? e.message)}: unavailable`)
  }
  for (const e of [err({ code: 'ER_DUP_ENTRY', errno: 1062 }), err({ code: 'ER_PARSE_ERROR', errno: 1064 }), err({ code: 'SQLITE_CONSTRAINT_UNIQUE' }), new TypeError('bug'), null, 'text']) {
    t.notOk(isDatabaseUnavailable(e), `${String((e as { code?: unknown } | null)?.code ?? e)}: not an outage`)
  }
})

t.test('MariaDB stopped and started under a running service: 503s while down, reconnects, nothing lost', { skip }, async t => {
  const db = await startMariadbServer()
  t.teardown(() => db.destroy())
  const prefix = `dbout${Date.now().toString(36)}`
  const topic = fullTopicName(prefix)
  const groupId = `${prefix}-group`
  const broker = await startMockKafka({ topics: [{ topic, partitions: 1 }] })
  t.teardown(broker.stop)
  const lms = await startFakeLms({ courses: [{ id: COURSE, tree: TREE }], ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti11OutcomeService({ consumers: { [CONSUMER.key]: CONSUMER.secret } })
  t.teardown(() => platform.close())

  const config = testConfig({
    DATABASE_URL: db.url,
    DATABASE_POOL_MAX: '4',
    ...lmsEnv(lms, PUBLIC_URL, { timeoutMs: 2000 }),
    KAFKA_BROKERS: broker.bootstrap.join(','),
    KAFKA_GROUP_ID: groupId,
    EVENT_BUS_TOPIC_PREFIX: prefix,
    PASSBACK_WORKER_ENABLED: 'true',
    PASSBACK_POLL_INTERVAL_MS: '100',
    // The shortest lease allowed: the one job whose answer arrives during the outage is claimable again soon.
    PASSBACK_LEASE_SECONDS: '5'
  })
  // No knex passed: the service opens, migrates and owns its pool, as in production.
  const app = await buildServer(config)
  await app.ready()
  t.teardown(() => app.close())

  const kafka = new Kafka({ clientId: 'db-outage-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const manifest = loadEventBusFixtures()
  const leaf = manifest.messages.find(m => m.name === 'leaf-problem')!
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  let second = 0
  async function scoreChanged (ceId: string, lmsUserId: number, usage: string, earned: number): Promise<void> {
    const e = encoder.encode({
      ...leaf.decoded, user_id: lmsUserId, course_id: COURSE, usage_id: usage, weighted_earned: earned, weighted_possible: 4,
      modified: toPythonIsoformat(new Date(Date.UTC(2026, 10, 20, 10, 0, second++)))
    }, newEventMetadata({ ce_id: ceId }))
    await producer.send({ topic, acks: -1, messages: [{ key: e.key, value: e.value, headers: e.headers }] })
  }

  const now = Date.now()
  await createLti11ConsumersRepository(app.knex).insert({
    name: CONSUMER.key, consumerKey: CONSUMER.key, secretEnc: app.secretBox.seal(CONSUMER.secret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: ['127.0.0.1'], pinOutcomeHost: false,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  const [registrationId] = await app.knex('lti13_registrations').insert({
    name: 'platform', issuer: 'https://platform.example.edu', client_id: 'client-1', auth_login_url: 'https://platform.example.edu/auth',
    auth_token_url: 'https://platform.example.edu/token', auth_token_audience: null, jwks_url: 'https://platform.example.edu/jwks',
    deployment_policy: 'record', content_scope: '["course-v1:OpenedX+*"]', use_pii: false, allow_anonymous: false,
    allowed_algorithms: '["RS256"]', allowed_hosts: '[]', token_max_age: 300, lti11_consumer_id: null, active: true, created_at: now, updated_at: now
  })
  t.ok(registrationId)
  const login = async () => await app.inject({
    method: 'GET',
    url: '/lti/1.3/login?' + new URLSearchParams({ iss: 'https://platform.example.edu', client_id: 'client-1', login_hint: 'hint', target_link_uri: `${PUBLIC_URL}/lti/1.3/courses/${COURSE}/${PROBLEMS[0]}` }).toString(),
    headers: { accept: 'text/html' }
  })

  // --- Before: one learner launched on four problems, one score delivered.
  const sourcedids = PROBLEMS.map((_, i) => `canvas:ada:${i + 1}`)
  for (const [i, usage] of PROBLEMS.entries()) {
    const res = await launch(app, 'ada', usage, sourcedids[i], platform.outcomeUrl())
    t.equal(res.statusCode, 200, `launch on ${usage} before the outage (${res.body.slice(0, 200)})`)
  }
  const ada = Number((await app.knex('lti_users').where({ lti_user_id: 'ada' }).first()).lms_user_id)
  t.not((await login()).statusCode, 503, 'LTI 1.3 login works before the outage')
  await waitFor('the service to be ready (consumer in its group)', async () => (await app.inject('/ready')).statusCode === 200)
  await scoreChanged('ce-1', ada, PROBLEMS[0]!, 1)
  await waitFor('the first grade to reach the gradebook', () => platform.ledger.length === 1)

  // --- A grade whose platform answer arrives after the database went away.
  platform.switches.respondWith({ kind: 'slow', delayMs: 1500 }, 1)
  await scoreChanged('ce-2', ada, PROBLEMS[1]!, 2)
  await waitFor('the second grade to be on its way', () => platform.requests.length === 2)
  const storedBeforeOutage = 2

  // --- Outage.
  const lmsUsersBefore = lms.state.users.size
  const down = Date.now()
  await db.stop('SIGTERM')
  const refused: Record<string, number> = {}
  const count = (code: string) => { refused[code] = (refused[code] ?? 0) + 1 }

  const ready = await app.inject('/ready')
  t.equal(ready.statusCode, 503, '/ready: not ready while the database is down')
  const readyBody = ready.json()
  t.match(readyBody, { status: 'not ready', checks: { database: { ok: false, detail: /^DATABASE_UNAVAILABLE \(/ } } })
  t.notMatch(ready.body, new RegExp(String(db.port)), '/ready does not show where the database is')
  t.equal((await app.inject('/health')).statusCode, 200, '/health stays 200: restarting the process would not help')

  // The consumer cache keeps a consumer 2 s: past it, every launch needs the database.
  await sleep(2100)
  for (const [user, usage] of [['bob', PROBLEMS[0]!], ['ada', PROBLEMS[2]!], ['carol', PROBLEMS[3]!]] as const) {
    const res = await launch(app, user, usage)
    t.equal(res.statusCode, 503, `launch of ${user} while the database is down`)
    t.match(res.headers['content-type'], /text\/html/, 'a page a learner can read')
    t.match(res.body, /DATABASE_UNAVAILABLE/)
    t.equal(res.headers['retry-after'], '5')
    t.notMatch(res.body, /ECONN|127\.0\.0\.1|lti:lti|at .*\.ts:\d+|knex|mysql/i, 'no driver message, address, credential or stack')
    count('DATABASE_UNAVAILABLE')
  }
  const refusedLogin = await login()
  t.equal(refusedLogin.statusCode, 503, 'LTI 1.3 login while the database is down')
  t.match(refusedLogin.body, /DATABASE_UNAVAILABLE/)
  count('DATABASE_UNAVAILABLE')
  t.equal(lms.state.users.size, lmsUsersBefore, 'no LMS account created by a launch that could not be recorded')

  // Score changes arrive meanwhile: they cannot be stored, so their offsets must not be committed.
  await scoreChanged('ce-3', ada, PROBLEMS[2]!, 3)
  await scoreChanged('ce-4', ada, PROBLEMS[3]!, 4)
  await sleep(4000)
  const committedDuringOutage = await committedOffset(admin, groupId, topic)
  t.ok(committedDuringOutage <= storedBeforeOutage, `no offset committed past a stored event during the outage (committed ${committedDuringOutage})`)
  t.equal((await app.inject('/ready')).statusCode, 503, 'still not ready')
  const outageMs = Date.now() - down

  // --- Back on the same port and data directory; the service was not restarted.
  await db.start()
  const up = Date.now()
  // First request after the restart, before anything else touched the pool: its idle connections
  // died with the old server and must not be handed out (mysql2's validation drops them).
  const bob = await launch(app, 'bob', PROBLEMS[0]!, 'canvas:bob:1', platform.outcomeUrl())
  t.equal(bob.statusCode, 200, `a launch works again without restarting the service (${bob.body.slice(0, 200)})`)
  const readyAfterMs = await waitFor('/ready to be 200 again', async () => (await app.inject('/ready')).statusCode === 200, 30_000)
  t.equal(lms.state.users.size, lmsUsersBefore + 1, 'the refused learner got exactly one LMS account, now')
  const loginAgain = await login()
  t.ok(loginAgain.statusCode < 500, `LTI 1.3 login works again (${loginAgain.statusCode})`)

  await waitFor('every score change stored and delivered', async () => {
    const open = await app.knex('passbacks').whereNot({ status: 'delivered' }).count({ n: '*' }).first() as { n: number | string }
    const all = await app.knex('passbacks').count({ n: '*' }).first() as { n: number | string }
    return Number(all.n) === 4 && Number(open.n) === 0
  }, 90_000)
  const recoveredMs = Date.now() - up
  await waitFor('offsets committed up to the last event', async () => await committedOffset(admin, groupId, topic) === 4, 30_000)

  const events = await app.knex('processed_events').select('ce_id', 'outcome').orderBy('ce_id')
  t.same(events.map(e => [e.ce_id, e.outcome]), [['ce-1', 'queued'], ['ce-2', 'queued'], ['ce-3', 'queued'], ['ce-4', 'queued']], 'every event stored once')
  const jobs = await app.knex('passbacks').select('ce_id', 'status', 'attempts', 'score_given').orderBy('ce_id')
  t.same(jobs.map(j => [j.ce_id, j.status, Number(j.score_given)]), [['ce-1', 'delivered', 1], ['ce-2', 'delivered', 2], ['ce-3', 'delivered', 3], ['ce-4', 'delivered', 4]])

  const perSourcedid = new Map<string, number[]>()
  for (const r of platform.ledger) perSourcedid.set(r.sourcedId, [...(perSourcedid.get(r.sourcedId) ?? []), Number(r.score)])
  t.same(perSourcedid.get(sourcedids[0]!), [0.25], 'grade 1: once')
  t.same(perSourcedid.get(sourcedids[2]!), [0.75], 'grade 3 (arrived during the outage): once')
  t.same(perSourcedid.get(sourcedids[3]!), [1], 'grade 4 (arrived during the outage): once')
  // At-least-once, by design: the platform applied grade 2 but the database was gone when the worker
  // went to record it; after the lease the job was sent again. Same value, so the gradebook is the same.
  const resent = perSourcedid.get(sourcedids[1]!) ?? []
  t.ok(resent.length >= 1 && resent.length <= 2 && resent.every(s => s === 0.5), `grade 2 (answered during the outage): ${resent.length} request(s), all 0.5`)
  const ce2 = jobs.find(j => j.ce_id === 'ce-2')!
  t.equal(Number(ce2.attempts), resent.length, 'one attempt per request the platform saw')
  const lost = sourcedids.filter(s => !perSourcedid.has(s)).length
  const duplicates = [...perSourcedid.values()].reduce((n, v) => n + new Set(v).size - 1, 0)
  t.equal(lost, 0, 'grades lost: 0')
  t.equal(duplicates, 0, 'conflicting values sent for one grade: 0')


  // --- A second, shorter outage: the server crashes (SIGKILL, InnoDB recovers on start).
  const bobId = Number((await app.knex('lti_users').where({ lti_user_id: 'bob' }).first()).lms_user_id)
  const crashed = Date.now()
  await db.stop('SIGKILL')
  t.equal((await app.inject('/ready')).statusCode, 503, 'not ready after the crash')
  const refusedAfterCrash = await launch(app, 'dave', PROBLEMS[1]!)
  t.equal(refusedAfterCrash.statusCode, 503)
  t.match(refusedAfterCrash.body, /DATABASE_UNAVAILABLE/)
  count('DATABASE_UNAVAILABLE')
  await scoreChanged('ce-5', bobId, PROBLEMS[0]!, 2)
  await sleep(2000)
  t.equal(await committedOffset(admin, groupId, topic), 4, 'the event that came during the crash is not committed')
  const crashMs = Date.now() - crashed
  await db.start()
  const dave = await launch(app, 'dave', PROBLEMS[1]!)
  t.equal(dave.statusCode, 200, 'first request after the crash recovery works')
  await waitFor('the crash-time grade delivered', () => platform.ledger.some(r => r.sourcedId === 'canvas:bob:1'), 60_000)
  await waitFor('its offset committed', async () => await committedOffset(admin, groupId, topic) === 5, 30_000)
  await sleep(500)
  t.same(platform.ledger.filter(r => r.sourcedId === 'canvas:bob:1').map(r => Number(r.score)), [0.5], 'delivered once')
  t.same((await app.knex('processed_events').where({ ce_id: 'ce-5' })).length, 1)

  t.comment(`figures: outage 1 (SIGTERM) ${outageMs} ms, outage 2 (SIGKILL) ${crashMs} ms; refused ${JSON.stringify(refused)}; ` +
    `/ready 200 ${readyAfterMs} ms after the first launch that followed the restart; all 4 grades delivered ${recoveredMs} ms after the server was back; ` +
    `5 score changes, lost ${lost}, conflicting duplicates ${duplicates}; grade 2 requests ${resent.length}; committed offset during outage 1: ${committedDuringOutage} (2 stored)`)
})
