/**
 * Abuse limits on the LTI 1.1 launch and the LTI 1.3 login, through the real app: a flood from one
 * address and a flood of one consumer's valid launches degrade into 429 RATE_LIMITED with a
 * Retry-After, while other addresses and other consumers keep launching; forged and replayed
 * launches cannot spend a consumer's budget; refused requests store nothing; windows reset; the
 * limits can be switched off; TRUST_PROXY decides whether X-Forwarded-For names the client.
 * Launches are signed by ims-lti (not by us) and land on the fake LMS.
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { buildTestApp, testConfig } from '../helpers/build-app.js'
import { createTestDb } from '../helpers/db.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { buildServer } from '../../src/server.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { createLti13RegistrationsRepository } from '../../src/db/repositories/lti13-registrations-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { lmsEnv } from '../helpers/lms-env.js'

const PUBLIC_URL = 'https://tool.example.org'
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${PROBLEM}`
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const A = { key: 'consumer-a', secret: 'secret-of-a' }
const B = { key: 'consumer-b', secret: 'secret-of-b' }

/** A fake LMS for this test, and the service environment pointing at it. */
async function startLms (t: Test): Promise<Record<string, string>> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  return lmsEnv(lms, PUBLIC_URL)
}

async function setup (t: Test, env: Record<string, string>): Promise<FastifyInstance> {
  const { app } = await buildTestApp(t, { ...await startLms(t), ...env })
  await addConsumers(app)
  return app
}

async function addConsumers (app: FastifyInstance): Promise<void> {
  const now = Date.now()
  for (const c of [A, B]) {
    await createLti11ConsumersRepository(app.knex).insert({
      name: c.key, consumerKey: c.key, secretEnc: app.secretBox.seal(c.secret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
      contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: [], pinOutcomeHost: true,
      signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
    })
  }
}

/** A fresh signed launch (new nonce) of a returning learner; `secret` may be wrong (a forgery). */
function signed (consumer: { key: string, secret: string }, userId = 'learner-1'): string {
  return signLaunchWithImsLti(PUBLIC_URL + PATH, consumer.key, consumer.secret, {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: userId, roles: 'Learner', context_id: 'ctx-1'
  }).body
}

async function launch (app: FastifyInstance, body: string, ip: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: PATH, payload: body, remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers } })
}

async function stored (app: FastifyInstance): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['oauth_nonces', 'lti_users', 'graded_assignments', 'outcome_services', 'oidc_states', 'lti11_consumers']) {
    out[table] = Number((await app.knex(table).count({ n: '*' }).first())?.n)
  }
  return out
}

/** 429, the stable code on the learner's page, and a Retry-After within the window. */
function assertRefused (t: Test, res: LightMyRequestResponse, windowSeconds: number, what: string): void {
  t.equal(res.statusCode, 429, `${what}: 429`)
  t.match(res.body, /Error code: <code>RATE_LIMITED<\/code>/, `${what}: RATE_LIMITED on the page`)
  const retryAfter = Number(res.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= windowSeconds, `${what}: Retry-After ${String(res.headers['retry-after'])} within 1..${windowSeconds}`)
}

t.test('(a) a flood from one address gets 429 while another address still launches; refusals store nothing', async t => {
  const app = await setup(t, { RATE_LIMIT_PER_IP: '5', RATE_LIMIT_WINDOW_SECONDS: '60' })
  for (let i = 0; i < 5; i++) t.equal((await launch(app, signed(A), '198.51.100.7')).statusCode, 200, `launch ${i + 1} within the budget`)
  const before = await stored(app)
  let refused = 0
  for (let i = 0; i < 40; i++) {
    // Valid, fresh launches: had they passed, each would have written a nonce.
    const res = await launch(app, signed(i % 2 === 0 ? A : B, `learner-${i}`), '198.51.100.7')
    if (i === 0) assertRefused(t, res, 60, 'first launch over the address budget')
    if (res.statusCode === 429) refused++
  }
  t.equal(refused, 40, 'every launch over the budget refused')
  // The same address is refused on the LTI 1.3 login too (one budget for the launch and login routes),
  // before the registration is even looked up: no state written.
  const login = await app.inject({ method: 'GET', url: '/lti/1.3/login?iss=https%3A%2F%2Fx.example&login_hint=u&target_link_uri=x', remoteAddress: '198.51.100.7' })
  t.equal(login.statusCode, 429)
  t.same(login.json(), { code: 'RATE_LIMITED', message: 'Too many requests; try again shortly.', requestId: login.json().requestId, details: { limit: 'ip', retryAfterSeconds: Number(login.headers['retry-after']) } }, 'API clients get the JSON shape with the limit kind')
  // Refused before the body is read: not even an unreadable body gets past the per-IP hook.
  const junk = await app.inject({ method: 'POST', url: PATH, payload: '%%%', remoteAddress: '198.51.100.7', headers: { 'content-type': 'application/x-unknown' } })
  t.equal(junk.statusCode, 429, 'refused before body parsing (else 415)')
  t.same(await stored(app), before, 'nothing stored for 42 refused requests')

  const other = await launch(app, signed(A, 'learner-other'), '198.51.100.8')
  t.equal(other.statusCode, 200, 'another address launches the same consumer')
  t.equal((await launch(app, signed(B), '2001:db8::1')).statusCode, 200, 'an IPv6 address has its own budget')
  // Health probes, the JWKS and the admin API are not behind the launch limit.
  t.equal((await app.inject({ method: 'GET', url: '/health', remoteAddress: '198.51.100.7' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/lti/1.3/jwks', remoteAddress: '198.51.100.7' })).statusCode, 200)
})

t.test('(b) a flood of valid launches from consumer A gets 429 while consumer B, from the same addresses, still launches', async t => {
  const app = await setup(t, { RATE_LIMIT_PER_CONSUMER: '4', RATE_LIMIT_WINDOW_SECONDS: '60' })
  // A's learners come from many addresses: only the consumer budget can stop them.
  for (let i = 0; i < 4; i++) t.equal((await launch(app, signed(A, `a-${i}`), `203.0.113.${i + 1}`)).statusCode, 200, `A launch ${i + 1}`)
  const before = await stored(app)
  for (let i = 4; i < 24; i++) {
    const res = await launch(app, signed(A, `a-${i}`), `203.0.113.${i + 1}`)
    if (i === 4) assertRefused(t, res, 60, 'A over its budget')
    else t.equal(res.statusCode, 429, `A launch ${i + 1} refused`)
  }
  t.same(await stored(app), before, 'nothing stored for A\'s 20 refused launches: no nonce, no learner, no outcome target')
  for (let i = 0; i < 4; i++) {
    t.equal((await launch(app, signed(B, `b-${i}`), `203.0.113.${i + 1}`)).statusCode, 200, `B launch ${i + 1} from one of A's addresses`)
  }
})

t.test('(c) forged signatures and replays naming consumer A do not spend A\'s budget', async t => {
  const app = await setup(t, { RATE_LIMIT_PER_CONSUMER: '3', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const forged = { key: A.key, secret: 'guessed-secret' }
  for (let i = 0; i < 60; i++) {
    const res = await launch(app, signed(forged, `f-${i}`), `192.0.2.${(i % 50) + 1}`)
    if (res.statusCode !== 401 || !res.body.includes('LTI11_BAD_SIGNATURE')) t.fail(`forgery ${i}: ${res.statusCode}`)
  }
  t.pass('60 forgeries refused with LTI11_BAD_SIGNATURE')
  // A learner of A replays their own signed form: refused by the nonce, before it could count.
  const captured = signed(A, 'insider')
  t.equal((await launch(app, captured, '192.0.2.200')).statusCode, 200, 'the captured launch itself (1 of 3)')
  for (let i = 0; i < 30; i++) {
    const res = await launch(app, captured, `192.0.2.${(i % 50) + 1}`)
    if (res.statusCode !== 401 || !res.body.includes('LTI11_NONCE_REPLAYED')) t.fail(`replay ${i}: ${res.statusCode}`)
  }
  t.pass('30 replays refused with LTI11_NONCE_REPLAYED')
  t.equal(Number((await app.knex('oauth_nonces').count({ n: '*' }).first())?.n), 1, 'forgeries and replays stored no nonce')
  t.equal((await launch(app, signed(A, 'x'), '192.0.2.201')).statusCode, 200, 'A launch 2 of 3')
  t.equal((await launch(app, signed(A, 'y'), '192.0.2.202')).statusCode, 200, 'A launch 3 of 3: 90 hostile requests cost A nothing')
  assertRefused(t, await launch(app, signed(A, 'z'), '192.0.2.203'), 60, 'the 4th fresh launch of A')
})

t.test('(e) both limits reset after the window', async t => {
  const app = await setup(t, { RATE_LIMIT_PER_IP: '2', RATE_LIMIT_PER_CONSUMER: '3', RATE_LIMIT_WINDOW_SECONDS: '1' })
  const started = Date.now()
  t.equal((await launch(app, signed(A, 'u1'), '10.9.0.1')).statusCode, 200)
  t.equal((await launch(app, signed(A, 'u2'), '10.9.0.1')).statusCode, 200)
  t.equal((await launch(app, signed(A, 'u3'), '10.9.0.2')).statusCode, 200, 'A spent 3 of 3')
  assertRefused(t, await launch(app, signed(B), '10.9.0.1'), 1, 'address over its budget')
  assertRefused(t, await launch(app, signed(A, 'u4'), '10.9.0.3'), 1, 'consumer over its budget')
  await sleep(Math.max(0, started + 1100 - Date.now()))
  t.equal((await launch(app, signed(B), '10.9.0.1')).statusCode, 200, 'the address launches again after the window')
  t.equal((await launch(app, signed(A, 'u4'), '10.9.0.3')).statusCode, 200, 'the consumer launches again after the window')
})

t.test('(f) RATE_LIMIT_ENABLED=false switches both limits off', async t => {
  const app = await setup(t, { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_PER_IP: '1', RATE_LIMIT_PER_CONSUMER: '1' })
  t.equal(app.launchLimits.lti11, undefined)
  for (let i = 0; i < 8; i++) t.equal((await launch(app, signed(A, `l-${i}`), '10.7.0.1')).statusCode, 200, `launch ${i + 1} with limits of 1`)
})

t.test('the defaults are on, generous, and the same in tests as in production', async t => {
  const c = testConfig()
  t.same([c.RATE_LIMIT_ENABLED, c.RATE_LIMIT_PER_IP, c.RATE_LIMIT_PER_CONSUMER, c.RATE_LIMIT_WINDOW_SECONDS], [true, 600, 1000, 10])
  const app = await setup(t, {})
  // A lecture hall behind one NAT: 150 learners' launches of two consumers in a burst, all admitted.
  const results = await Promise.all(Array.from({ length: 150 }, async (_, i) => (await launch(app, signed(i % 2 === 0 ? A : B, `hall-${i}`), '100.64.0.1')).statusCode))
  t.same(results.filter(s => s !== 200), [], '150 launches from one address in a burst: all 200')
})

t.test('TRUST_PROXY decides whether X-Forwarded-For names the client', async t => {
  const env = { RATE_LIMIT_PER_IP: '2', RATE_LIMIT_WINDOW_SECONDS: '60' }
  t.test('behind a proxy: each forwarded client has its own budget', async t => {
    const app = await setup(t, { ...env, TRUST_PROXY: 'true' })
    const via = (client: string) => ({ 'x-forwarded-for': client })
    t.equal((await launch(app, signed(A, 'p1'), '10.0.0.5', via('198.51.100.1'))).statusCode, 200)
    t.equal((await launch(app, signed(A, 'p2'), '10.0.0.5', via('198.51.100.1'))).statusCode, 200)
    assertRefused(t, await launch(app, signed(A, 'p3'), '10.0.0.5', via('198.51.100.1')), 60, 'third from one forwarded client')
    t.equal((await launch(app, signed(A, 'p4'), '10.0.0.5', via('198.51.100.2'))).statusCode, 200, 'another client behind the same proxy')
  })
  t.test('TRUST_PROXY=true behind a proxy that appends: the client picks its own key', async t => {
    // Documents why the address list exists: with `true` the left-most entry, which the client wrote, wins.
    const app = await setup(t, { ...env, TRUST_PROXY: 'true' })
    const codes: number[] = []
    for (let i = 0; i < 4; i++) codes.push((await launch(app, signed(A, `t${i}`), '10.0.0.5', { 'x-forwarded-for': `192.0.2.${i}, 198.51.100.7` })).statusCode)
    t.same(codes, [200, 200, 200, 200], 'each forged left-most entry is a fresh budget')
  })
  t.test('TRUST_PROXY=<proxy CIDRs>: only hops our proxies appended count; a forged left part is ignored', async t => {
    const app = await setup(t, { ...env, TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' })
    const codes: number[] = []
    for (let i = 0; i < 4; i++) codes.push((await launch(app, signed(A, `c${i}`), '10.0.0.5', { 'x-forwarded-for': `192.0.2.${i}, 198.51.100.7` })).statusCode)
    t.same(codes, [200, 200, 429, 429], 'the key is 198.51.100.7, the address the proxy saw')
    t.equal((await launch(app, signed(A, 'c9'), '10.0.0.5', { 'x-forwarded-for': '198.51.100.8' })).statusCode, 200, 'another client behind the proxy')
    t.equal((await launch(app, signed(A, 'c10'), '203.0.113.50', { 'x-forwarded-for': '198.51.100.9' })).statusCode, 200, 'a direct client outside the list…')
    t.equal((await launch(app, signed(A, 'c11'), '203.0.113.50', { 'x-forwarded-for': '198.51.100.10' })).statusCode, 200)
    assertRefused(t, await launch(app, signed(A, 'c12'), '203.0.113.50', { 'x-forwarded-for': '198.51.100.11' }), 60, '…is keyed by its socket address, whatever header it sends')
  })
  t.test('not behind a proxy: a forged X-Forwarded-For does not escape the limit', async t => {
    const app = await setup(t, { ...env, TRUST_PROXY: 'false' })
    const codes: number[] = []
    for (let i = 0; i < 6; i++) codes.push((await launch(app, signed(A, `q${i}`), '10.0.0.6', { 'x-forwarded-for': `198.51.100.${i + 10}` })).statusCode)
    t.same(codes, [200, 200, 429, 429, 429, 429])
  })
})

t.test('the refusal is logged with the kind of limit, and without the consumer key or secrets', async t => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url, ...await startLms(t), RATE_LIMIT_PER_IP: '2', RATE_LIMIT_PER_CONSUMER: '1', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const app = await buildServer(config, { knex: db.knex, fastify: { logger: { level: 'info', stream } } })
  await app.ready()
  t.teardown(() => app.close())
  await addConsumers(app)
  t.equal((await launch(app, signed(A), '10.8.0.1')).statusCode, 200)
  t.equal((await launch(app, signed(A), '10.8.0.2')).statusCode, 429)
  t.equal((await launch(app, signed(B), '10.8.0.1')).statusCode, 200)
  t.equal((await launch(app, signed(B), '10.8.0.1')).statusCode, 429)
  const refusals = lines.map(l => JSON.parse(l) as { code?: string, status?: number, details?: Record<string, unknown> }).filter(l => l.code === 'RATE_LIMITED')
  t.equal(refusals.length, 2, 'one line per refusal')
  const consumerId = Number((await app.knex('lti11_consumers').where({ consumer_key: A.key }).first()).id)
  t.match(refusals[0], { status: 429, details: { limit: 'consumer', protocol: 'lti11', consumerId, retryAfterSeconds: Number } })
  t.match(refusals[1], { status: 429, details: { limit: 'ip', retryAfterSeconds: Number } })
  const all = lines.join('\n')
  for (const secret of [A.key, A.secret, B.secret, 'oauth_signature']) t.notOk(all.includes(secret), `${secret} not in the log`)
})

t.test('an LTI 1.3 login flood from one address stores no state past the budget', async t => {
  const app = await setup(t, { RATE_LIMIT_PER_IP: '3', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const now = Date.now()
  await createLti13RegistrationsRepository(app.knex).insert({
    name: 'p', issuer: 'https://platform.example', clientId: 'c1', authLoginUrl: 'https://platform.example/auth', authTokenUrl: 'https://platform.example/token',
    authTokenAudience: null, jwksUrl: 'https://platform.example/jwks', deploymentPolicy: 'strict', contentScope: ['*'], usePii: false,
    allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [], tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now
  })
  const params = new URLSearchParams({ iss: 'https://platform.example', client_id: 'c1', login_hint: 'u', target_link_uri: `${PUBLIC_URL}/lti/1.3/courses/${DEMO_COURSE_ID}/${PROBLEM}` })
  const codes: number[] = []
  for (let i = 0; i < 20; i++) {
    const post = i % 2 === 1
    const res = post
      ? await app.inject({ method: 'POST', url: '/lti/1.3/login', payload: params.toString(), remoteAddress: '10.6.0.1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      : await app.inject({ method: 'GET', url: `/lti/1.3/login?${params}`, remoteAddress: '10.6.0.1' })
    codes.push(res.statusCode)
  }
  t.same(codes, [302, 302, 302, ...Array<number>(17).fill(429)], 'GET and POST share the address budget')
  t.equal((await stored(app)).oidc_states, 3, 'only the admitted logins stored a state')
  t.equal((await app.inject({ method: 'GET', url: `/lti/1.3/login?${params}`, remoteAddress: '10.6.0.2' })).statusCode, 302, 'another address logs in')
})
