import t from 'tap'
import type { Knex } from 'knex'
import { Registry } from 'prom-client'
import { createSecretBox } from '../../../src/crypto/secret-box.js'
import { createOutboxClaims } from '../../../src/db/outbox/claims.js'
import { createAccessTokenCache } from '../../../src/grades/delivery/access-token-cache.js'
import { createAgsSender } from '../../../src/grades/delivery/ags-sender.js'
import type { CompositeScorer } from '../../../src/grades/composite-score.js'
import { createJobDelivery } from '../../../src/grades/delivery/job-delivery.js'
import { createLti11OutcomeSender } from '../../../src/grades/delivery/lti11-outcome-sender.js'
import { DEFAULT_BACKOFF } from '../../../src/grades/delivery/retry-policy.js'
import { GradesError } from '../../../src/grades/errors.js'
import { createOutboxWorker, type OutboxWorkerOptions } from '../../../src/grades/outbox-worker.js'
import { createOutboxMetrics } from '../../../src/grades/outbox-worker-metrics.js'
import { createOutboundClient, type OutboundClientOptions } from '../../../src/http/outbound-client.js'
import { createToolKeys } from '../../../src/keys/tool-keys.js'
import { createTestDb } from '../../helpers/db.js'
import { seedAgsTarget, startFakeAgsPlatform } from '../../support/fake-ags-platform.js'
import { queuePassback, seedLti11Target, startFakeLti11OutcomeService } from '../../support/fake-lti11-outcome-service.js'

interface Teardown { teardown (fn: () => unknown): void }

const SECRET_KEY = 'outbox-worker-test-secret-key-0123456789'

interface HarnessOptions {
  client?: Partial<OutboundClientOptions>
  worker?: Partial<OutboxWorkerOptions>
  composite?: CompositeScorer['computeComposite']
}

/** A real worker over a fresh database, with a movable clock (`advance`) so backoffs can be passed. */
async function harness (t: Teardown, options: HarnessOptions = {}) {
  const db = await createTestDb(t)
  const secretBox = createSecretBox(SECRET_KEY)
  const toolKeys = createToolKeys({ knex: db.knex, secretBox, graceSeconds: 0 })
  await toolKeys.ensure()
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true, timeoutMs: 2_000, ...options.client })
  t.teardown(() => http.close())
  let offset = 0
  const now = () => Date.now() + offset
  const outbox = createOutboxClaims(db.knex)
  const registry = new Registry()
  const delivery = createJobDelivery({
    outbox,
    secretBox,
    lti11: createLti11OutcomeSender({ http, now }),
    ags: createAgsSender({ http, tokenCache: createAccessTokenCache({ now }), signingKey: () => toolKeys.signingKey(), now }),
    composite: options.composite === undefined ? undefined : { computeComposite: options.composite }
  })
  const worker = createOutboxWorker({
    outbox,
    delivery,
    maxAttempts: 5,
    perHostConcurrency: 4,
    pollIntervalMs: 20,
    leaseMs: 60_000,
    now,
    random: () => 0.5,
    metrics: createOutboxMetrics(registry, outbox, now),
    ...options.worker
  })
  t.teardown(() => worker.stop({ graceMs: 0 }))
  const row = async (id: number) => await db.knex('passbacks').where({ id }).first() as Record<string, unknown>
  return { db, knex: db.knex, secretBox, toolKeys, worker, outbox, registry, now, row, advance: (ms: number) => { offset += ms } }
}

async function outcomeFake (t: Teardown) {
  const fake = await startFakeLti11OutcomeService({ consumers: { 'key-1': 'secret-1', 'key-2': 'secret-2' } })
  t.teardown(() => fake.close())
  return fake
}

async function lti11Job (h: { knex: Knex, secretBox: ReturnType<typeof createSecretBox> }, outcomeUrl: string, job: Partial<Parameters<typeof queuePassback>[1]> = {}, seed: Partial<Parameters<typeof seedLti11Target>[2]> = {}) {
  const target = await seedLti11Target(h.knex, h.secretBox, { consumerKey: 'key-1', secret: 'secret-1', outcomeUrl, outcomeHosts: ['127.0.0.1'], ...seed })
  const id = await queuePassback(h.knex, { targetKey: target.targetKey, gradedAssignmentId: target.assignmentId, platformHost: new URL(outcomeUrl).host, ...job })
  return { ...target, jobId: id }
}

t.test('LTI 1.1: replaceResult accepted with the right score; the job is delivered and counted', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl(), { scoreGiven: 8.5, scoreMaximum: 10 })
  t.equal(await h.worker.runOnce(), 1)
  t.match(fake.ledger, [{ consumerKey: 'key-1', sourcedId: job.sourcedId, score: '0.85' }])
  t.match(await h.row(job.jobId), { status: 'delivered', attempts: 1, last_error: null, lease_owner: null, lease_until: null })
  t.ok(Number((await h.row(job.jobId)).delivered_at) > 0)
  t.equal(await h.worker.runOnce(), 0, 'nothing left to claim')
  t.equal(fake.requests.length, 1)

  const text = await h.registry.metrics()
  t.match(text, /lti_provider_passback_deliveries_total\{result="delivered",platform_host="127\.0\.0\.1:\d+"\} 1/)
  t.match(text, /lti_provider_passback_delivery_duration_seconds_count\{kind="lti11",result="delivered"\} 1/)
  t.match(text, /lti_provider_passback_queue_depth\{status="delivered"\} 1/)
  t.match(text, /lti_provider_passback_queue_depth\{status="pending"\} 0/)
  t.match(text, /^lti_provider_passback_oldest_due_age_seconds 0$/m)
})

t.test('0/0 sends 0; a score above the maximum sends 1.0', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  await lti11Job(h, fake.outcomeUrl(), { scoreGiven: 0, scoreMaximum: 0 })
  await lti11Job(h, fake.outcomeUrl(), { scoreGiven: 12, scoreMaximum: 10 })
  await h.worker.runOnce()
  t.same(fake.ledger.map(r => r.score).sort(), ['0.0', '1.0'])
})

t.test('LTI 1.3: AGS score accepted with the token flow, timestamp = event time in µs', async t => {
  const h = await harness(t)
  const platform = await startFakeAgsPlatform({ clientId: 'client-13', toolJwks: () => h.toolKeys.jwks() })
  t.teardown(() => platform.close())
  const target = await seedAgsTarget(h.knex, platform, { lineitemUrl: platform.lineitemUrl(3), sub: 'sub-abc' })
  const id = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, scoreGiven: 3, scoreMaximum: 4, eventTimeUs: 1_700_000_000_000_007 })
  await h.worker.runOnce()
  t.match(platform.scores, [{ lineitem: '3', userId: 'sub-abc', scoreGiven: 3, scoreMaximum: 4, timestamp: '2023-11-14T22:13:20.000007+00:00' }])
  t.match(await h.row(id), { status: 'delivered', attempts: 1 })
  t.equal(platform.tokenRequests.length, 1)

  // A retry of an already-taken score (the earlier answer was lost) is delivered, not duplicated.
  const again = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, version: 2, scoreGiven: 3, scoreMaximum: 4, eventTimeUs: 1_700_000_000_000_007 })
  await h.worker.runOnce()
  t.match(await h.row(again), { status: 'delivered' })
  t.equal(platform.scores.length, 1)
  // A score older than what the platform holds is stale.
  const older = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, version: 3, scoreGiven: 1, scoreMaximum: 4, eventTimeUs: 1_600_000_000_000_000 })
  await h.worker.runOnce()
  t.match(await h.row(older), { status: 'superseded', last_error: /later timestamp/ })
  t.equal(platform.scores.length, 1)
})

t.test('LTI 1.3 launch without the score scope, inactive consumer, missing target: dead with the reason', async t => {
  const h = await harness(t)
  const platform = await startFakeAgsPlatform({ clientId: 'client-13', toolJwks: () => h.toolKeys.jwks() })
  t.teardown(() => platform.close())
  const noScope = await seedAgsTarget(h.knex, platform, { lineitemUrl: platform.lineitemUrl(3), scopes: ['https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly'] })
  const a = await queuePassback(h.knex, { kind: 'lti13', targetKey: noScope.targetKey, gradedResourceId: noScope.resourceId })
  const fake = await outcomeFake(t)
  const inactive = await lti11Job(h, fake.outcomeUrl(), {}, { consumerKey: 'key-off', active: false })
  const orphan = await queuePassback(h.knex, { targetKey: 'a:999999', gradedAssignmentId: null })
  await h.worker.runOnce()
  t.match(await h.row(a), { status: 'dead', attempts: 1, last_error: /^PASSBACK_SCOPE_NOT_GRANTED/ })
  t.match(await h.row(inactive.jobId), { status: 'dead', last_error: /^PASSBACK_PLATFORM_INACTIVE/ })
  t.match(await h.row(orphan), { status: 'dead', last_error: /^PASSBACK_TARGET_MISSING/ })
  t.equal(platform.tokenRequests.length + fake.requests.length, 0)
})

t.test('platform down for a while, then back: retried with backoff, delivered exactly once', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl())
  await fake.server.down()
  await h.worker.runOnce()
  const first = await h.row(job.jobId)
  t.match(first, { status: 'failed', attempts: 1, last_error: /^HTTP_OUT_CONNECT_FAILED/ })
  const delay1 = Number(first.due_at) - h.now()
  t.ok(delay1 > DEFAULT_BACKOFF.baseMs / 2 - 1000 && delay1 <= DEFAULT_BACKOFF.baseMs, `first backoff ${delay1} ms`)
  t.equal(await h.worker.runOnce(), 0, 'not due before its backoff')

  h.advance(delay1 + 1)
  await h.worker.runOnce()
  const second = await h.row(job.jobId)
  t.match(second, { status: 'failed', attempts: 2 })
  const delay2 = Number(second.due_at) - h.now()
  t.ok(delay2 > delay1, `the backoff grows: ${delay2} ms`)

  await fake.server.up()
  h.advance(delay2 + 1)
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'delivered', attempts: 3, last_error: null })
  h.advance(3_600_000)
  await h.worker.runOnce()
  t.equal(fake.ledger.length, 1, 'exactly once')
  t.match(await h.registry.metrics(), /lti_provider_passback_deliveries_total\{result="failed",platform_host="127\.0\.0\.1:\d+"\} 2/)
})

t.test('500, 429 (Retry-After honoured, host paused) and timeouts are retried; the last attempt makes it dead', async t => {
  const h = await harness(t, { client: { timeoutMs: 200 }, worker: { maxAttempts: 4 } })
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl())
  fake.switches.respondWith({ kind: 'status', status: 500 }, 1)
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'failed', attempts: 1, last_error: /^PASSBACK_PLATFORM_UNAVAILABLE.*"httpStatus":500/ })

  fake.switches.respondWith({ kind: 'rate-limited', retryAfter: '600' }, 1)
  h.advance(10_000)
  await h.worker.runOnce()
  const limited = await h.row(job.jobId)
  t.match(limited, { status: 'failed', attempts: 2, last_error: /"httpStatus":429/ })
  t.ok(Number(limited.due_at) - h.now() >= 599_000, 'Retry-After: 600 honoured')
  // Another job for the same host waits too: the host asked everyone to slow down.
  const other = await lti11Job(h, fake.outcomeUrl())
  t.equal(await h.worker.runOnce(), 0)
  t.match(await h.row(other.jobId), { status: 'pending', attempts: 0 })

  h.advance(601_000)
  fake.switches.respondWith({ kind: 'slow', delayMs: 600 }, 2)
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'failed', attempts: 3, last_error: /^HTTP_OUT_TIMEOUT/ })
  t.match(await h.row(other.jobId), { status: 'failed', attempts: 1, last_error: /^HTTP_OUT_TIMEOUT/ })

  h.advance(3_600_000)
  fake.switches.behave()
  fake.switches.respondWith({ kind: 'status', status: 503 }, 2)
  await h.worker.runOnce()
  t.match(await h.row(other.jobId), { status: 'failed', attempts: 2 })
  t.match(await h.row(job.jobId), { status: 'dead', attempts: 4, last_error: /gave up after 4 attempts/ })
  await new Promise(resolve => setTimeout(resolve, 700))
  t.equal(fake.ledger.filter(r => r.sourcedId === job.sourcedId).length, 0)
})

t.test('400, 401, 403 are dead at once with the reason; DOCTYPE and 10 MB answers too, without crashing', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const cases: Array<[Parameters<typeof fake.switches.respondWith>[0], RegExp]> = [
    [{ kind: 'status', status: 400, body: 'Bad Request: malformed XML' }, /^PASSBACK_PLATFORM_REJECTED.*"httpStatus":400.*malformed XML/],
    [{ kind: 'status', status: 401 }, /^PASSBACK_PLATFORM_REJECTED.*"httpStatus":401/],
    [{ kind: 'status', status: 403 }, /^PASSBACK_PLATFORM_REJECTED.*"httpStatus":403/],
    [{ kind: 'doctype' }, /^LTI11_OUTCOME_RESPONSE_DOCTYPE/],
    [{ kind: 'huge' }, /^HTTP_OUT_TOO_LARGE/],
    [{ kind: 'pox-failure', description: 'Assignment is past due.' }, /^LTI11_OUTCOME_REJECTED.*past due/]
  ]
  for (const [what, reason] of cases) {
    const job = await lti11Job(h, fake.outcomeUrl())
    fake.switches.respondWith(what, 1)
    await h.worker.runOnce()
    t.match(await h.row(job.jobId), { status: 'dead', attempts: 1, last_error: reason }, what.kind)
  }
  t.equal(fake.ledger.length, 0)
  t.match(await h.registry.metrics(), /lti_provider_passback_queue_depth\{status="dead"\} 6/)
})

t.test('AGS: 401 triggers one token refresh; token answer without access_token is dead', async t => {
  const h = await harness(t)
  const platform = await startFakeAgsPlatform({ clientId: 'client-13', toolJwks: () => h.toolKeys.jwks() })
  t.teardown(() => platform.close())
  const target = await seedAgsTarget(h.knex, platform, { lineitemUrl: platform.lineitemUrl(3) })
  const first = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, eventTimeUs: 1_000_000 })
  await h.worker.runOnce()
  t.match(await h.row(first), { status: 'delivered' })
  platform.revokeTokens()
  const second = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, version: 2, eventTimeUs: 2_000_000 })
  await h.worker.runOnce()
  t.match(await h.row(second), { status: 'delivered', attempts: 1 })
  t.equal(platform.tokenRequests.length, 2)

  platform.scoreSwitches.respondWith({ kind: 'status', status: 401 }, 2)
  const third = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, version: 3, eventTimeUs: 3_000_000 })
  await h.worker.runOnce()
  t.match(await h.row(third), { status: 'dead', last_error: /"httpStatus":401/ })

  // The cached token dies; the refresh answer has no access_token.
  platform.revokeTokens()
  platform.omitAccessToken = true
  const fourth = await queuePassback(h.knex, { kind: 'lti13', targetKey: target.targetKey, gradedResourceId: target.resourceId, version: 4, eventTimeUs: 4_000_000 })
  await h.worker.runOnce()
  t.match(await h.row(fourth), { status: 'dead', attempts: 1, last_error: /^LTI13_TOKEN_RESPONSE_INVALID.*no access_token/ })
})

t.test('superseded versions are not sent', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl(), { version: 1, scoreGiven: 1, scoreMaximum: 10 })
  const newer = await queuePassback(h.knex, { targetKey: job.targetKey, gradedAssignmentId: job.assignmentId, version: 2, scoreGiven: 7, scoreMaximum: 10 })
  await h.worker.runOnce()
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'superseded', last_error: /newer version/ })
  t.match(await h.row(newer), { status: 'delivered' })
  t.same(fake.ledger.map(r => r.score), ['0.7'])
})

t.test('one job per target at a time, even with several due', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl(), { version: 1 })
  fake.switches.respondWith({ kind: 'slow', delayMs: 150 }, 1)
  const run = h.worker.runOnce()
  await new Promise(resolve => setTimeout(resolve, 50))
  // Written while version 1 is being delivered (the recorder leaves delivering jobs alone).
  const newer = await queuePassback(h.knex, { targetKey: job.targetKey, gradedAssignmentId: job.assignmentId, version: 2, scoreGiven: 2, scoreMaximum: 10 })
  t.equal(await h.worker.runOnce(), 0, 'not claimed while the older version of the same target is in flight')
  await run
  await h.worker.runOnce()
  t.match(await h.row(newer), { status: 'delivered' })
  t.same(fake.ledger.map(r => r.score), ['0.85', '0.2'], 'in version order')
})

t.test("composites: scored when due, under edx's version guard", async t => {
  const calls: string[] = []
  let bumpDuringCompute: (() => Promise<void>) | undefined
  const composite: CompositeScorer['computeComposite'] = async request => {
    calls.push(request.usageKey)
    if (bumpDuringCompute !== undefined) await bumpDuringCompute()
    return { earned: 3, possible: 4, method: 'progress', approximate: false }
  }
  const h = await harness(t, { composite })
  const fake = await outcomeFake(t)
  const unit = 'block-v1:OrgX+C1+2024+type@vertical+block@u1'
  const job = await lti11Job(h, fake.outcomeUrl(), { version: 2, method: 'unit', scoreGiven: null, scoreMaximum: null }, { usageKey: unit, versionNumber: 2 })
  await h.worker.runOnce()
  t.same(calls, [unit])
  t.match(await h.row(job.jobId), { status: 'delivered', score_given: 3, score_maximum: 4 })
  t.same(fake.ledger.map(r => r.score), ['0.75'])

  // The target moved on before the job was due: not even computed.
  const stale = await lti11Job(h, fake.outcomeUrl(), { version: 1, method: 'subsection', scoreGiven: null, scoreMaximum: null }, { versionNumber: 5 })
  await h.worker.runOnce()
  t.match(await h.row(stale.jobId), { status: 'superseded', last_error: /version 5/ })
  t.equal(calls.length, 1)

  // A change arrives while the score is computed: the re-read version wins.
  const racing = await lti11Job(h, fake.outcomeUrl(), { version: 1, method: 'unit', scoreGiven: null, scoreMaximum: null }, { versionNumber: 1 })
  bumpDuringCompute = async () => { await h.knex('graded_assignments').where({ id: racing.assignmentId }).update({ version_number: 2 }) }
  await h.worker.runOnce()
  t.match(await h.row(racing.jobId), { status: 'superseded', last_error: /version 2/ })
  t.equal(fake.ledger.length, 1)
})

t.test('a burst of 100 changes to one unit pushes once', async t => {
  let computed = 0
  const h = await harness(t, { composite: async () => { computed++; return { earned: 5, possible: 10, method: 'progress', approximate: false } } })
  const fake = await outcomeFake(t)
  // Worst case for the worker: none of the 100 was superseded when written (the recorder does that too).
  const first = await lti11Job(h, fake.outcomeUrl(), { version: 1, method: 'unit', scoreGiven: null, scoreMaximum: null }, { usageKey: 'block-v1:OrgX+C1+2024+type@vertical+block@burst', versionNumber: 100 })
  for (let v = 2; v <= 100; v++) await queuePassback(h.knex, { targetKey: first.targetKey, gradedAssignmentId: first.assignmentId, version: v, method: 'unit', scoreGiven: null, scoreMaximum: null, platformHost: `127.0.0.1:${fake.server.port}` })
  while (await h.worker.runOnce() > 0) { /* drain */ }
  const counts = await h.knex('passbacks').select('status').count({ n: '*' }).groupBy('status') as Array<{ status: string, n: number | string }>
  t.same(Object.fromEntries(counts.map(c => [c.status, Number(c.n)])), { delivered: 1, superseded: 99 })
  t.same(fake.ledger.map(r => r.score), ['0.5'])
  t.equal(computed, 1, 'the LMS is asked once')
})

t.test('composites: LMS trouble is retried, a permanent GRADES_ error is dead, no implementation waits', async t => {
  let fail: Error = GradesError('GRADES_LMS_UNAVAILABLE')
  const h = await harness(t, { composite: async () => { throw fail } })
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl(), { method: 'unit', scoreGiven: null, scoreMaximum: null })
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'failed', last_error: /^GRADES_LMS_UNAVAILABLE/ })
  fail = GradesError('GRADES_UNKNOWN_BLOCK')
  h.advance(60_000)
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'dead', last_error: /^GRADES_UNKNOWN_BLOCK/ })

  const none = await harness(t)
  const waiting = await lti11Job(none, fake.outcomeUrl(), { method: 'subsection', scoreGiven: null, scoreMaximum: null })
  await none.worker.runOnce()
  t.match(await none.row(waiting.jobId), { status: 'failed', last_error: /^PASSBACK_COMPOSITE_UNAVAILABLE/ })
  t.equal(fake.requests.length, 0)
})

t.test('production mode (no loopback flag): outcome URLs resolving to 127.0.0.1 or 169.254.169.254 are refused', async t => {
  const answers: Record<string, string> = { 'lms.attacker.example': '127.0.0.1', 'metadata.attacker.example': '169.254.169.254' }
  const h = await harness(t, { client: { allowLoopbackHttp: false, resolver: async host => [{ address: answers[host] ?? '203.0.113.9', family: 4 }] } })
  const fake = await outcomeFake(t)
  const loop = await lti11Job(h, `https://lms.attacker.example:${fake.server.port}/outcome`, {}, { outcomeHosts: [] })
  const meta = await lti11Job(h, 'https://metadata.attacker.example/latest/meta-data/', {}, { outcomeHosts: [] })
  const plain = await lti11Job(h, fake.outcomeUrl(), {}, { outcomeHosts: [] })
  await h.worker.runOnce()
  t.match(await h.row(loop.jobId), { status: 'dead', attempts: 1, last_error: /^HTTP_OUT_ADDRESS_NOT_ALLOWED.*"addressClass":"loopback"/ })
  t.match(await h.row(meta.jobId), { status: 'dead', attempts: 1, last_error: /^HTTP_OUT_ADDRESS_NOT_ALLOWED.*"addressClass":"metadata"/ })
  t.match(await h.row(plain.jobId), { status: 'dead', attempts: 1, last_error: /^HTTP_OUT_SCHEME_NOT_ALLOWED/ })
  t.equal(fake.requests.length, 0)
})

t.test('a redirect to another host is refused: dead, the other host never contacted', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const other = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl(), {}, { outcomeHosts: [] })
  fake.switches.respondWith({ kind: 'redirect', location: `http://localhost:${other.server.port}/collect` }, 1)
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'dead', last_error: /^HTTP_OUT_REDIRECT_REFUSED.*cross-origin/ })
  t.equal(other.requests.length, 0)
})

t.test('the consumer outcome-host allow-list is enforced', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl(), {}, { outcomeHosts: ['lms.example.edu'] })
  await h.worker.runOnce()
  t.match(await h.row(job.jobId), { status: 'dead', last_error: /^HTTP_OUT_HOST_NOT_ALLOWED/ })
  t.equal(fake.requests.length, 0)
})

t.test('concurrency per platform host is limited', async t => {
  const h = await harness(t, { worker: { perHostConcurrency: 2 } })
  const fake = await outcomeFake(t)
  const other = await outcomeFake(t)
  for (let i = 0; i < 6; i++) await lti11Job(h, fake.outcomeUrl())
  fake.switches.respondWith({ kind: 'slow', delayMs: 80 }, 6)
  h.worker.start()
  h.worker.kick()
  await new Promise(resolve => setTimeout(resolve, 30))
  t.equal(h.worker.inFlight, 2)
  for (let i = 0; i < 4; i++) await lti11Job(h, `http://localhost:${other.server.port}/courses/x/outcome`, {}, { consumerKey: 'key-2', secret: 'secret-2', outcomeHosts: ['localhost'] })
  await queueDrained(h.knex, 10_000)
  t.equal(fake.server.peakActive, 2, 'never more than 2 at once to one host')
  t.equal(fake.ledger.length, 6)
  t.equal(other.ledger.length, 4)
})

t.test('claims ahead: one claim feeds several deliveries, never more in flight than the host allows', async t => {
  let claims = 0
  const h = await harness(t, { worker: { perHostConcurrency: 2, pollIntervalMs: 60_000 } })
  const claimDue = h.outbox.claimDue
  h.outbox.claimDue = async opts => { claims++; return await claimDue(opts) }
  const worker = h.worker
  const fake = await outcomeFake(t)
  for (let i = 0; i < 12; i++) await lti11Job(h, fake.outcomeUrl())
  fake.switches.respondWith({ kind: 'slow', delayMs: 20 }, 12)
  worker.start()
  await queueDrained(h.knex, 10_000)
  t.equal(fake.ledger.length, 12)
  t.equal(fake.server.peakActive, 2, 'claimed-ahead jobs wait for a slot')
  t.ok(claims <= 7, `${claims} claim rounds for 12 deliveries (one per finished delivery before)`)
  t.match(await h.db.knex('passbacks').select('status', 'attempts'), Array(12).fill({ status: 'delivered', attempts: 1 }))
})

t.test('stop(): claimed-ahead jobs are given back at once, attempt not counted', async t => {
  const h = await harness(t, { worker: { perHostConcurrency: 1, pollIntervalMs: 60_000 } })
  const fake = await outcomeFake(t)
  const first = await lti11Job(h, fake.outcomeUrl())
  const second = await lti11Job(h, fake.outcomeUrl())
  fake.switches.respondWith({ kind: 'hang' }, 1)
  h.worker.start()
  while (fake.requests.length === 0) await new Promise(resolve => setTimeout(resolve, 10))
  t.match(await h.row(second.jobId), { status: 'delivering', attempts: 1, lease_owner: h.worker.owner }, 'claimed ahead while the first is in flight')
  t.equal(h.worker.inFlight, 1)
  await h.worker.stop({ graceMs: 50 })
  t.match(await h.row(second.jobId), { status: 'pending', attempts: 0, lease_owner: null }, 'given back, never sent')
  t.match(await h.row(first.jobId), { status: 'pending', attempts: 0 }, 'the hung one cancelled and given back')
  t.equal(fake.requests.length, 1)
})

t.test('stop(): in-flight sends are waited for, then cancelled and given back', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl())
  fake.switches.respondWith({ kind: 'hang' }, 1)
  h.worker.start()
  while (fake.requests.length === 0) await new Promise(resolve => setTimeout(resolve, 10))
  t.match(await h.row(job.jobId), { status: 'delivering', attempts: 1, lease_owner: h.worker.owner })
  const started = Date.now()
  await h.worker.stop({ graceMs: 100 })
  t.ok(Date.now() - started < 3_000, 'bounded')
  t.match(await h.row(job.jobId), { status: 'pending', attempts: 0, lease_owner: null, lease_until: null })
  h.worker.kick()
  t.equal(await h.worker.runOnce(), 0, 'a stopped worker claims nothing')
  t.match(await h.registry.metrics(), /result="released"/)
})

t.test('lease fencing: a result from a worker that lost its lease is not written', async t => {
  const h = await harness(t)
  const fake = await outcomeFake(t)
  const job = await lti11Job(h, fake.outcomeUrl())
  const [claimed] = await h.outbox.claimDue({ now: h.now(), owner: 'old-owner', leaseMs: 1_000, scanLimit: 10, choose: c => c.map(x => x.id) })
  t.equal(claimed?.attempts, 1)
  t.same(await h.outbox.claimDue({ now: h.now(), owner: 'thief', leaseMs: 1_000, scanLimit: 10, choose: c => c.map(x => x.id) }), [], 'not claimable while leased')
  const [reclaimed] = await h.outbox.claimDue({ now: h.now() + 1_001, owner: 'new-owner', leaseMs: 60_000, scanLimit: 10, choose: c => c.map(x => x.id) })
  t.match(reclaimed, { id: job.jobId, attempts: 2 })
  t.equal(await h.outbox.markDead(job.jobId, 'old-owner', h.now(), 'late'), false)
  t.equal(await h.outbox.markDelivered(job.jobId, 'new-owner', h.now()), true)
  t.match(await h.row(job.jobId), { status: 'delivered', last_error: null })
})

t.test('oldest due job age and queue depth are read from the table', async t => {
  const h = await harness(t)
  await queuePassback(h.knex, { targetKey: 'a:1', dueAt: h.now() - 30_000 })
  await queuePassback(h.knex, { targetKey: 'a:2', status: 'failed', dueAt: h.now() - 90_000 })
  await queuePassback(h.knex, { targetKey: 'a:3', dueAt: h.now() + 90_000 })
  const text = await h.registry.metrics()
  const age = Number(/^lti_provider_passback_oldest_due_age_seconds (\S+)$/m.exec(text)?.[1])
  t.ok(age >= 90 && age < 100, `age ${age}`)
  t.match(text, /lti_provider_passback_queue_depth\{status="pending"\} 2/)
  t.match(text, /lti_provider_passback_queue_depth\{status="failed"\} 1/)
})

async function queueDrained (knex: Knex, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const open = await knex('passbacks').whereIn('status', ['pending', 'delivering', 'failed']).count({ n: '*' }).first() as { n: number | string }
    if (Number(open.n) === 0) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error('queue not drained in time')
}
