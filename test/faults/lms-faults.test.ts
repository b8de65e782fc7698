/**
 * Fault: the Open edX LMS REST API misbehaves (hangs past LMS_TIMEOUT_MS, 500, 429 with and
 * without Retry-After, a 200 that is an HTML error page instead of JSON) during LTI 1.1 and LTI 1.3
 * launches (account creation and enrollment over REST) and during the grade pipeline's background
 * calls (Blocks API for ancestors when a score event arrives; Blocks + progress when a unit's
 * composite score is sent). And the platform's AGS endpoint down for half an hour of fake time.
 *
 * Unit-level retry timing is in test/lms/lms-client.test.ts and retry-timing.test.ts;
 * launches with a 500 or a hang on registration/enrollment in test/launch/*; here the faults are
 * driven through the real app and the real pipeline, and what is asserted is what a learner, the
 * database and the gradebook see.
 *
 * Decided and asserted: a launch that fails on the LMS has spent its single-use values (LTI 1.1
 * nonce, LTI 1.3 state): reloading the error page is refused as a replay, the learner launches again
 * from the platform (docs/operator-guide.md §7). Consuming them first is what makes replay-proofing
 * atomic. An LMS account created before a later LMS call failed stays unused (no mapping points at it).
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Knex } from 'knex'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeFault, type FakeLms, type FakeLmsRoute } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { startFakeLti11OutcomeService } from '../support/fake-lti11-outcome-service.js'
import { seedAgsTarget, startFakeAgsPlatform } from '../support/fake-ags-platform.js'
import { queuePassback } from '../support/fake-lti11-outcome-service.js'
import { loadEventBusFixtures } from '../support/event-bus-fixtures.js'
import { createSeeder } from '../support/grade-targets-seed.js'
import { buildTestApp } from '../helpers/build-app.js'
import { createTestDb } from '../helpers/db.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { createDeadLettersRepository } from '../../src/db/repositories/dead-letters-repository.js'
import { createOutboxClaims } from '../../src/db/outbox/claims.js'
import { createProblemScoresRepository } from '../../src/db/repositories/problem-scores-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { createSecretBox } from '../../src/crypto/secret-box.js'
import { createToolKeys } from '../../src/keys/tool-keys.js'
import { createOutboundClient } from '../../src/http/outbound-client.js'
import { createCachedCourseStructure } from '../../src/grades/course-structure.js'
import { createCompositeScorer } from '../../src/grades/composite-score.js'
import { createScoreChangeRecorder } from '../../src/grades/score-change-recorder.js'
import { GRADES_ERROR_DISPOSITION, isGradesError } from '../../src/grades/errors.js'
import { createAccessTokenCache } from '../../src/grades/delivery/access-token-cache.js'
import { createAgsSender } from '../../src/grades/delivery/ags-sender.js'
import { createJobDelivery } from '../../src/grades/delivery/job-delivery.js'
import { createLti11OutcomeSender } from '../../src/grades/delivery/lti11-outcome-sender.js'
import { createOutboxWorker } from '../../src/grades/outbox-worker.js'
import { createMessageProcessor } from '../../src/events/consumer/message-processor.js'
import { createWeightedScoreDecoder } from '../../src/events/decode/weighted-score-decoder.js'
import { toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../src/events/decode/weighted-score-encoder.js'
import { lmsEnv } from '../helpers/lms-env.js'
import { registerFakePlatform } from '../helpers/lti13-registration.js'

t.setTimeout(120_000)

const PUBLIC_URL = 'https://tool.example.org'
const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`
const COURSE = DEMO_COURSE_ID
const P1 = usageKey(COURSE, 'problem', 'p1')
const UNIT1 = usageKey(COURSE, 'vertical', 'unit1')
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const CONSUMER = { key: 'canvas', secret: 'canvas-secret' }
const LMS_TIMEOUT_MS = 300
const SECRET_KEY = 'lms-faults-test-secret-key-0123456789abcdef'

interface Ctx { app: FastifyInstance, lms: FakeLms, platform: FakeLti13Platform }

async function setup (t: Test): Promise<Ctx> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti13Platform({ redirectUris: [LAUNCH_URL] })
  t.teardown(() => platform.close())
  const { app } = await buildTestApp(t, lmsEnv(lms, PUBLIC_URL, { timeoutMs: LMS_TIMEOUT_MS }))
  const now = Date.now()
  await createLti11ConsumersRepository(app.knex).insert({
    name: CONSUMER.key, consumerKey: CONSUMER.key, secretEnc: app.secretBox.seal(CONSUMER.secret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: ['canvas.example.edu'], pinOutcomeHost: false,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  await registerFakePlatform(app.knex, platform)
  return { app, lms, platform }
}

interface Attempt { res: { statusCode: number, body: string, headers: Record<string, unknown> }, again: () => Promise<{ statusCode: number, body: string }> }

const form = (app: FastifyInstance, url: string, payload: string, cookie?: string) => app.inject({
  method: 'POST', url, payload, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...(cookie === undefined ? {} : { cookie }) }
})

/** An LTI 1.1 launch of a new learner; `again` re-posts the very same signed form (a reload). */
async function lti11 (ctx: Ctx, userId: string): Promise<Attempt> {
  const path = `/lti_provider/courses/${COURSE}/${P1}`
  const body = signLaunchWithImsLti(PUBLIC_URL + path, CONSUMER.key, CONSUMER.secret, {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: userId, roles: 'Learner',
    context_id: 'ctx-1', lis_result_sourcedid: `canvas:${userId}`, lis_outcome_service_url: 'https://canvas.example.edu/outcomes'
  }).body
  return { res: await form(ctx.app, path, body), again: () => form(ctx.app, path, body) }
}

/** OIDC login through our route, then the platform's id_token posted back; `again` re-posts it. */
async function lti13 (ctx: Ctx, userId: string): Promise<Attempt> {
  const launch = { userId, targetLinkUri: contentTargetLinkUri(PUBLIC_URL, COURSE, P1) }
  const login = await ctx.app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(ctx.platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
  if (login.statusCode !== 302) throw new Error(`login refused: ${login.body}`)
  const query = new URL(String(login.headers.location)).searchParams
  const cookie = String(login.headers['set-cookie'] ?? '').split(';')[0] as string
  const idToken = await ctx.platform.mintIdToken({ nonce: query.get('nonce') ?? '', launch })
  const payload = new URLSearchParams({ id_token: idToken, state: query.get('state') ?? '' }).toString()
  return { res: await form(ctx.app, '/lti/1.3/launch', payload, cookie), again: () => form(ctx.app, '/lti/1.3/launch', payload, cookie) }
}

async function rows (knex: Knex) {
  const n = async (table: string) => Number((await knex(table).count({ n: '*' }).first())?.n)
  return { ltiUsers: await n('lti_users'), assignments: await n('graded_assignments'), profiles: await n('lti_profiles'), resources: await n('graded_resources') }
}

interface FaultCase {
  name: string
  route: FakeLmsRoute
  fault: FakeFault
  times: number
  retryAfter?: number
  /** Answer of the launch; 200 when the retry succeeds. */
  status: number
  code?: string
  /** Requests the route receives (first attempt + retries). */
  calls: number
  /** Lower bound of the launch's duration (timeouts, Retry-After). */
  minMs?: number
  /** Upper bound (a long Retry-After is not waited for). */
  maxMs?: number
  /** The token cache is emptied first, so the token endpoint is called. */
  freshToken?: boolean
}

const CASES: FaultCase[] = [
  { name: 'token endpoint hangs past LMS_TIMEOUT_MS', route: 'token', fault: 'timeout', times: 3, status: 503, code: 'LMS_UNAVAILABLE', calls: 3, minMs: 3 * LMS_TIMEOUT_MS, freshToken: true },
  { name: 'registration answers 500 every time', route: 'registration', fault: 500, times: 3, status: 503, code: 'LMS_UNAVAILABLE', calls: 3 },
  { name: 'registration answers 429 without Retry-After every time', route: 'registration', fault: 429, times: 3, status: 503, code: 'LMS_RATE_LIMITED', calls: 3 },
  { name: 'registration answers 429 Retry-After: 3600', route: 'registration', fault: 429, times: 1, retryAfter: 3600, status: 503, code: 'LMS_RATE_LIMITED', calls: 1, maxMs: 1500 },
  { name: 'registration answers 429 Retry-After: 1 once', route: 'registration', fault: 429, times: 1, retryAfter: 1, status: 200, calls: 2, minMs: 1000 },
  { name: 'registration answers an HTML page with 200', route: 'registration', fault: 'garbage', times: 1, status: 502, code: 'LMS_BAD_RESPONSE', calls: 1 },
  { name: 'enrollment hangs past LMS_TIMEOUT_MS', route: 'enrollment-post', fault: 'timeout', times: 3, status: 503, code: 'LMS_UNAVAILABLE', calls: 3, minMs: 3 * LMS_TIMEOUT_MS },
  { name: 'enrollment answers 503 Retry-After: 1 once', route: 'enrollment-post', fault: 503, times: 1, retryAfter: 1, status: 200, calls: 2, minMs: 1000 },
  { name: 'enrollment answers an HTML page with 200', route: 'enrollment-post', fault: 'garbage', times: 1, status: 502, code: 'LMS_BAD_RESPONSE', calls: 1 }
]

for (const [protocol, attempt, replayCode, replayStatus] of [['LTI 1.1', lti11, 'LTI11_NONCE_REPLAYED', 401], ['LTI 1.3', lti13, 'LTI13_STATE_REPLAYED', 400]] as const) {
  t.test(`${protocol} launches against a failing LMS: bounded retries, a clear code, nothing half-written`, async t => {
    const ctx = await setup(t)
    const figures = { launches: 0, refused: {} as Record<string, number>, orphanLmsAccounts: 0 }
    for (const [i, c] of CASES.entries()) {
      if (c.freshToken) ctx.lms.state.revokeTokens()
      ctx.lms.state.failNext(c.route, c.times, c.fault, c.retryAfter === undefined ? {} : { retryAfter: c.retryAfter })
      const callsBefore = ctx.lms.state.callCount(c.route)
      const before = await rows(ctx.app.knex)
      const lmsUsersBefore = ctx.lms.state.users.size
      const started = Date.now()
      const { res, again } = await attempt(ctx, `learner-${i}`)
      const took = Date.now() - started
      figures.launches++
      ctx.lms.state.clearFaults()

      t.equal(res.statusCode, c.status, `${c.name}: ${c.status} (${res.body.slice(0, 200).replace(/\s+/g, ' ')})`)
      t.equal(ctx.lms.state.callCount(c.route) - callsBefore, c.calls, `${c.name}: ${c.calls} request(s) to ${c.route}`)
      if (c.minMs !== undefined) t.ok(took >= c.minMs, `${c.name}: took ${took} ms ≥ ${c.minMs} ms`)
      if (c.maxMs !== undefined) t.ok(took <= c.maxMs, `${c.name}: took ${took} ms ≤ ${c.maxMs} ms (not waited for)`)
      const after = await rows(ctx.app.knex)
      if (c.code === undefined) {
        t.equal(protocol === 'LTI 1.1' ? after.ltiUsers - before.ltiUsers : after.profiles - before.profiles, 1, `${c.name}: the retry succeeded and the learner is mapped`)
        continue
      }
      figures.refused[c.code] = (figures.refused[c.code] ?? 0) + 1
      t.match(res.body, new RegExp(`Error code: <code>${c.code}</code>`), `${c.name}: ${c.code}`)
      t.match(String(res.headers['content-type']), /text\/html/, `${c.name}: a page a learner can read`)
      t.notMatch(res.body, /at .*\.ts:\d+|ECONN|127\.0\.0\.1|lti-provider-secret|<!DOCTYPE html><html><body>Bad gateway/i, `${c.name}: no stack, address, secret or LMS body`)
      t.same(after, before, `${c.name}: nothing written (no mapping, no grade target)`)
      figures.orphanLmsAccounts += ctx.lms.state.users.size - lmsUsersBefore
      // The reload of the error page: the single-use value is spent (see the header).
      const reload = await again()
      t.equal(reload.statusCode, replayStatus, `${c.name}: the same form again is a replay`)
      t.match(reload.body, replayCode)
      t.same(await rows(ctx.app.knex), before, `${c.name}: the replay writes nothing`)
    }

    // The LMS is fine again: a fresh launch of a learner refused above works, once.
    const back = await attempt(ctx, 'learner-1')
    t.equal(back.res.statusCode, 200, 'a new launch from the platform works once the LMS is back')

    // Every mapping points at an LMS account that exists and is enrolled: nothing half-made.
    const mapped = protocol === 'LTI 1.1'
      ? await ctx.app.knex('lti_users').select('lms_user_id', 'lms_username')
      : await ctx.app.knex('lti_profiles').select('lms_user_id', 'lms_username')
    t.equal(mapped.length, 1 + CASES.filter(c => c.code === undefined).length, 'one mapping per successful launch')
    for (const m of mapped) {
      const user = ctx.lms.state.users.get(Number(m.lms_user_id))
      t.equal(user?.username, m.lms_username, `mapping ${m.lms_username} has its LMS account`)
      t.ok(ctx.lms.state.enrollmentOf(m.lms_username, COURSE)?.isActive, `and its enrollment`)
    }
    t.comment(`figures ${protocol}: ${figures.launches} faulted launches (${CASES.length} fault kinds), refused ${JSON.stringify(figures.refused)}, ` +
      `${CASES.filter(c => c.code === undefined).length} recovered by a retry; unused LMS accounts left by failures after registration: ${figures.orphanLmsAccounts}`)
  })
}

t.test('grade pipeline: the Blocks API failing while a score event is recorded is retried later, nothing lost or doubled', async t => {
  const db = await createTestDb(t)
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', timeoutMs: LMS_TIMEOUT_MS, retryBaseDelayMs: 10, retryMaxDelayMs: 20 })
  t.teardown(() => client.close())
  const learner = lms.state.addUser({ username: 'ada', email: 'ada@example.com' })
  lms.state.enroll('ada', COURSE)
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: learner.id, lmsUsername: 'ada' })
  // A launch on the unit and one on the problem: the unit needs the problem's ancestors (Blocks API).
  await seed.assignment(user, { lmsUserId: learner.id, courseKey: COURSE, usageKey: UNIT1 })
  await seed.assignment(user, { lmsUserId: learner.id, courseKey: COURSE, usageKey: P1 })

  const manifest = loadEventBusFixtures()
  const leaf = manifest.messages.find(m => m.name === 'leaf-problem')!
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  const e = encoder.encode({ ...leaf.decoded, user_id: learner.id, course_id: COURSE, usage_id: P1, weighted_earned: 1, weighted_possible: 1, modified: toPythonIsoformat(new Date(Date.UTC(2026, 10, 20))) }, newEventMetadata({ ce_id: 'ce-blocks' }))
  const message = { topic: 't', partition: 0, offset: '7', key: e.key, value: e.value, headers: e.headers }
  const processor = createMessageProcessor({
    decoder: createWeightedScoreDecoder({}),
    relevantUsers: { has: () => true },
    recorder: createScoreChangeRecorder({ knex: db.knex, structure: createCachedCourseStructure({ source: client }), compositeDelayMs: 0 }),
    deadLetters: createDeadLettersRepository(db.knex)
  })

  const faults: Array<[FakeFault, number, number?]> = [['timeout', 3], [500, 3], [429, 3], [429, 1, 3600], ['garbage', 1]]
  for (const [fault, times, retryAfter] of faults) {
    lms.state.failNext('blocks', times, fault, retryAfter === undefined ? {} : { retryAfter })
    let error: unknown
    try {
      await processor.process(message)
    } catch (err) {
      error = err
    }
    lms.state.clearFaults()
    t.ok(isGradesError(error) && error.code === 'GRADES_LMS_UNAVAILABLE', `blocks ${fault}${retryAfter ? ` Retry-After ${retryAfter}` : ''}: GRADES_LMS_UNAVAILABLE`)
    t.equal(isGradesError(error) ? GRADES_ERROR_DISPOSITION[error.code] : undefined, 'retry', 'thrown, so the consumer keeps the offset and retries')
    for (const table of ['processed_events', 'problem_scores', 'passbacks', 'dead_letters']) {
      t.equal(Number((await db.knex(table).count({ n: '*' }).first())?.n), 0, `nothing in ${table}`)
    }
  }
  t.match(await processor.process(message), { outcome: 'queued', jobs: 2 }, 'the LMS is back: recorded, both launches get a job')
  t.match(await processor.process(message), { outcome: 'duplicate' }, 'the redelivery after a retry is a duplicate')
  const jobs = await db.knex('passbacks').select('method', 'ce_id')
  t.same(jobs.map(j => j.method).sort(), ['leaf', 'unit'], 'one job per launch, none twice')
  t.comment(`figures: ${faults.length} Blocks API fault kinds while recording; events lost 0, jobs doubled 0`)
})

/** Epoch µs → the AGS timestamp Open edX stores (µs precision, +00:00). */
const isoMicros = (us: number) => new Date(Math.floor(us / 1000)).toISOString().replace(/\.\d{3}Z$/, '.' + String(us % 1_000_000).padStart(6, '0') + '+00:00')

/** A real outbox worker over a fresh database with a movable clock. */
async function workerHarness (t: Test, composite?: (knex: Knex) => ReturnType<typeof createCompositeScorer>) {
  const db = await createTestDb(t)
  const secretBox = createSecretBox(SECRET_KEY)
  const toolKeys = createToolKeys({ knex: db.knex, secretBox, graceSeconds: 0 })
  await toolKeys.ensure()
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true, timeoutMs: 1_000 })
  t.teardown(() => http.close())
  let offset = 0
  const now = () => Date.now() + offset
  const outbox = createOutboxClaims(db.knex)
  const worker = createOutboxWorker({
    outbox,
    delivery: createJobDelivery({
      outbox,
      secretBox,
      lti11: createLti11OutcomeSender({ http, now }),
      ags: createAgsSender({ http, tokenCache: createAccessTokenCache({ now }), signingKey: () => toolKeys.signingKey(), now }),
      composite: composite?.(db.knex)
    }),
    maxAttempts: 12,
    perHostConcurrency: 4,
    pollIntervalMs: 20,
    leaseMs: 60_000,
    now,
    random: () => 0.5
  })
  t.teardown(() => worker.stop({ graceMs: 0 }))
  return { db, secretBox, toolKeys, worker, now, advance: (ms: number) => { offset += ms } }
}

t.test('grade pipeline: LMS trouble while a unit\'s composite score is computed is retried later, delivered once', async t => {
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', timeoutMs: LMS_TIMEOUT_MS, retryBaseDelayMs: 10, retryMaxDelayMs: 20 })
  t.teardown(() => client.close())
  const h = await workerHarness(t, knex => createCompositeScorer({ lms: client, ledger: createProblemScoresRepository(knex) }))
  const outcomes = await startFakeLti11OutcomeService({ consumers: { [CONSUMER.key]: CONSUMER.secret } })
  t.teardown(() => outcomes.close())

  const learner = lms.state.addUser({ username: 'ada', email: 'ada@example.com' })
  lms.state.enroll('ada', COURSE)
  lms.state.setProblemScore('ada', P1, 1, 1)
  const seed = createSeeder(h.db.knex)
  const user = await seed.lti11User({ lmsUserId: learner.id, lmsUsername: 'ada', outcomeUrl: outcomes.outcomeUrl() })
  await h.db.knex('lti11_consumers').where({ id: user.consumerId }).update({ consumer_key: CONSUMER.key, secret_enc: h.secretBox.seal(CONSUMER.secret, CONSUMER_SECRET_CONTEXT), outcome_hosts: '["127.0.0.1"]' })
  const assignmentId = await seed.assignment(user, { lmsUserId: learner.id, courseKey: COURSE, usageKey: UNIT1, sourcedid: 'canvas:ada:unit1' })
  await h.db.knex('graded_assignments').where({ id: assignmentId }).update({ version_number: 1 })
  const jobId = await queuePassback(h.db.knex, { targetKey: `a:${assignmentId}`, gradedAssignmentId: assignmentId, method: 'unit', scoreGiven: null, scoreMaximum: null, platformHost: `127.0.0.1:${outcomes.server.port}` })
  const row = async () => await h.db.knex('passbacks').where({ id: jobId }).first() as Record<string, unknown>

  const faults: Array<[FakeLmsRoute, FakeFault, number, number?]> = [['blocks', 'timeout', 3], ['progress', 500, 3], ['progress', 429, 1, 3600], ['blocks', 'garbage', 1], ['progress', 'garbage', 1]]
  for (const [i, [route, fault, times, retryAfter]] of faults.entries()) {
    lms.state.failNext(route, times, fault, retryAfter === undefined ? {} : { retryAfter })
    await h.worker.runOnce()
    lms.state.clearFaults()
    const r = await row()
    t.match(r, { status: 'failed', attempts: i + 1, last_error: /^GRADES_LMS_UNAVAILABLE/ }, `${route} ${fault}: failed, will retry (attempt ${i + 1})`)
    t.ok(Number(r.due_at) > h.now(), 'not due again at once')
    t.equal(outcomes.ledger.length, 0, 'nothing sent on a score that could not be computed')
    h.advance(Number(r.due_at) - h.now() + 1)
  }
  await h.worker.runOnce()
  t.match(await row(), { status: 'delivered', attempts: faults.length + 1 })
  h.advance(3_600_000)
  t.equal(await h.worker.runOnce(), 0, 'nothing left')
  t.equal(outcomes.ledger.length, 1, 'delivered exactly once')
  const delivered = await row()
  // Unit 1 = p1 (1 of 1) + p2 (not attempted, weight 5): 1/6, as the LMS's own provider would send.
  t.match(delivered, { score_given: 1, score_maximum: 6 }, 'the score computed once the LMS answered')
  t.ok(Math.abs(Number(outcomes.ledger[0]?.score) - 1 / 6) < 1e-6, `sent ${outcomes.ledger[0]?.score}`)
  t.comment(`figures: ${faults.length} LMS faults during composite scoring, ${faults.length + 1} attempts, grades lost 0, duplicates 0`)
})

t.test('the platform\'s AGS endpoint down for 30 minutes (fake time): retried with backoff, each grade once, same timestamp', async t => {
  const h = await workerHarness(t)
  const platform = await startFakeAgsPlatform({ clientId: 'client-ags', toolJwks: () => h.toolKeys.jwks() })
  t.teardown(() => platform.close())
  const jobs: Array<{ id: number, sub: string, eventTimeUs: number }> = []
  let registrationId: number | undefined
  for (let i = 0; i < 3; i++) {
    const target = await seedAgsTarget(h.db.knex, platform, { lineitemUrl: platform.lineitemUrl(10 + i), sub: `sub-${i}`, ...(registrationId === undefined ? {} : { registrationId }) })
    registrationId = target.registrationId
    const eventTimeUs = 1_763_000_000_000_000 + i * 1_000_003
    jobs.push({ id: await queuePassback(h.db.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, scoreGiven: i + 1, scoreMaximum: 4, eventTimeUs }), sub: target.sub, eventTimeUs })
  }

  await platform.server.down()
  const downFor = 30 * 60_000
  const tick = 15_000
  let ticks = 0
  for (let elapsed = 0; elapsed < downFor; elapsed += tick) {
    await h.worker.runOnce()
    h.advance(tick)
    ticks++
  }
  const during = await h.db.knex('passbacks').select('status', 'attempts').orderBy('id') as Array<{ status: string, attempts: number }>
  t.ok(during.every(r => r.status === 'failed'), 'all waiting, none dead after 30 minutes')
  const attemptsDown = during.map(r => Number(r.attempts))
  t.ok(attemptsDown.every(a => a >= 5 && a < 12), `backoff: ${attemptsDown.join(', ')} attempts in 30 minutes (not one per tick: ${ticks} ticks)`)
  t.equal(platform.scores.length, 0)

  await platform.server.up()
  let afterUp = 0
  while (afterUp < 60 * 60_000) {
    await h.worker.runOnce()
    const open = await h.db.knex('passbacks').whereNot({ status: 'delivered' }).count({ n: '*' }).first() as { n: number | string }
    if (Number(open.n) === 0) break
    h.advance(tick)
    afterUp += tick
  }
  t.ok(afterUp <= 35 * 60_000, `all delivered ${Math.round(afterUp / 60_000)} min after the endpoint came back (the last backoff step)`)
  h.advance(6 * 3_600_000)
  await h.worker.runOnce()
  t.equal(platform.scores.length, jobs.length, 'each grade accepted once')
  for (const [i, job] of jobs.entries()) {
    const accepted = platform.scores.filter(s => s.userId === job.sub)
    t.equal(accepted.length, 1, `${job.sub}: once`)
    t.match(accepted[0], { scoreGiven: i + 1, scoreMaximum: 4 })
    t.equal(accepted[0]?.timestamp, isoMicros(job.eventTimeUs), `${job.sub}: the event's timestamp, kept across retries`)
  }
  t.comment(`figures: AGS endpoint down 30 min (fake clock), ${jobs.length} grades, attempts while down ${attemptsDown.join('/')}, lost 0, duplicates 0`)
})
