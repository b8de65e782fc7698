/**
 * LTI 1.1 launches end to end through the real app: signed by ims-lti (not by us), identity over
 * REST against the fake LMS, each handoff mode followed to the LMS, and every bad input.
 */
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { decodeJwt, createLocalJWKSet, jwtVerify } from 'jose'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../../support/fake-lms.js'
import { buildTestApp } from '../../helpers/build-app.js'
import { signLaunchWithImsLti, parseAutoSubmit } from '../../helpers/ims-lti-signer.js'
import { createLti11ConsumersRepository } from '../../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../../src/launch/lti11/launch.js'
import type { TestDb } from '../../helpers/db.js'

const PUBLIC_URL = 'https://tool.example.org'
const COURSE = DEMO_COURSE_ID
const PROBLEM = usageKey(COURSE, 'problem', 'p1')
const UNIT = usageKey(COURSE, 'vertical', 'unit1')
const PATH = (usage = PROBLEM, course = COURSE) => `/lti_provider/courses/${course}/${usage}`
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }

interface Ctx { app: FastifyInstance, lms: FakeLms, db: TestDb }

async function setup (t: { teardown (fn: () => unknown): void }, env: Record<string, string> = {}, lmsOpts: Parameters<typeof startFakeLms>[0] = {}): Promise<Ctx> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }], ...lmsOpts })
  t.teardown(() => lms.close())
  const { app, db } = await buildTestApp(t, {
    PUBLIC_URL,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY.key,
    LMS_RELAY_CONSUMER_SECRET: RELAY.secret,
    LMS_TIMEOUT_MS: '1500',
    ...env
  })
  return { app, lms, db }
}

async function addConsumer (app: FastifyInstance, key: string, secret: string, extra: Partial<{ contentScope: string[], outcomeHosts: string[], requireUserAccount: boolean, usePii: boolean, pinOutcomeHost: boolean, signatureMethods: string[] }> = {}): Promise<number> {
  const now = Date.now()
  return await createLti11ConsumersRepository(app.knex).insert({
    name: key, consumerKey: key, secretEnc: app.secretBox.seal(secret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: extra.contentScope ?? ['course-v1:OpenedX+*'], usePii: extra.usePii ?? false, requireUserAccount: extra.requireUserAccount ?? false,
    outcomeHosts: extra.outcomeHosts ?? [], pinOutcomeHost: extra.pinOutcomeHost ?? true, signatureMethods: extra.signatureMethods ?? ['HMAC-SHA1'],
    timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
}

const baseLaunch = (over: Record<string, string> = {}): Record<string, string> => ({
  lti_message_type: 'basic-lti-launch-request',
  lti_version: 'LTI-1p0',
  resource_link_id: 'rl-1',
  user_id: 'learner-42',
  roles: 'Learner',
  context_id: 'ctx-1',
  tool_consumer_instance_guid: 'canvas.example.edu',
  lis_person_contact_email_primary: 'Ada@Example.edu',
  lis_person_name_full: 'Ada Lovelace',
  ...over
})

async function post (app: FastifyInstance, path: string, body: string) {
  return await app.inject({ method: 'POST', url: path, payload: body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
}

async function counts (app: FastifyInstance) {
  const n = async (table: string) => Number((await app.knex(table).count({ n: '*' }).first())?.n)
  return { users: await n('lti_users'), assignments: await n('graded_assignments'), services: await n('outcome_services') }
}

t.test('first launch: account over REST, enrollment, outcome target, relay lands the learner in the block', async t => {
  const { app, lms } = await setup(t)
  await addConsumer(app, 'canvas', 'canvas-secret')
  const usersBefore = lms.state.users.size
  const signed = signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch({
    lis_result_sourcedid: 'canvas:sourcedid:1', lis_outcome_service_url: 'https://canvas.example.edu/api/lti/v1/outcomes?x=1'
  }))
  const res = await post(app, PATH(), signed.body)
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(lms.state.users.size, usersBefore + 1, 'one LMS account created')

  const user = await app.knex('lti_users').first()
  t.equal(user.lti_user_id, 'learner-42')
  t.match(user.lms_username, /^[A-Za-z0-9]{30}$/, 'random 30-character username')
  t.equal(user.lms_email, `${user.lms_username}@lti.invalid`, 'synthetic email without PII')
  t.ok(lms.state.enrollments.get(`${user.lms_username}|${COURSE}`), 'enrolled in the course')

  const assignment = await app.knex('graded_assignments').first()
  t.equal(assignment.usage_key, PROBLEM)
  t.equal(assignment.lis_result_sourcedid, 'canvas:sourcedid:1')
  t.equal(Number(assignment.lms_user_id), Number(user.lms_user_id))
  const consumer = await app.knex('lti11_consumers').first()
  t.same(JSON.parse(consumer.outcome_hosts), ['canvas.example.edu'], 'outcome host pinned on first sight')
  t.equal(consumer.instance_guid, 'canvas.example.edu', 'GUID recorded after verification')

  // Follow the relay form to the LMS's built-in provider: it verifies our signature and logs the account in.
  const form = parseAutoSubmit(res.body)
  t.equal(form.action, `${lms.url}${PATH()}`)
  const fields = Object.fromEntries(form.fields)
  t.equal(fields.user_id, user.lms_username)
  t.equal(fields.lis_person_contact_email_primary, user.lms_email)
  t.notOk('lis_outcome_service_url' in fields, 'the LMS must not pass grades back itself')
  const relay = await fetch(form.action, { method: 'POST', body: new URLSearchParams(form.fields), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' })
  t.ok(relay.status < 400, `LMS accepted the relay (${relay.status})`)
  const recorded = lms.state.relayLaunches.at(-1)!
  t.equal(recorded.username, user.lms_username, 'the LMS logged in exactly the mapped account')
  t.equal(recorded.usageId, PROBLEM)

  // The same launch replayed is refused, and writes nothing.
  const before = await counts(app)
  const replay = await post(app, PATH(), signed.body)
  t.equal(replay.statusCode, 401)
  t.match(replay.body, /LTI11_NONCE_REPLAYED/)
  t.same(await counts(app), before)
})

t.test('returning learner keeps the account; another consumer with the same user_id gets another', async t => {
  const { app, lms } = await setup(t)
  await addConsumer(app, 'canvas', 'canvas-secret')
  await addConsumer(app, 'moodle', 'moodle-secret')
  for (let i = 0; i < 2; i++) {
    const res = await post(app, PATH(), signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch()).body)
    t.equal(res.statusCode, 200)
  }
  t.equal(Number((await app.knex('lti_users').count({ n: '*' }).first())?.n), 1)
  const registrations = lms.state.requests.filter(r => r.route === 'registration').length
  t.equal(registrations, 1, 'no second account for a returning learner')
  const other = await post(app, PATH(), signLaunchWithImsLti(PUBLIC_URL + PATH(), 'moodle', 'moodle-secret', baseLaunch()).body)
  t.equal(other.statusCode, 200)
  const rows = await app.knex('lti_users').select('*').orderBy('id')
  t.equal(rows.length, 2)
  t.not(rows[0].lms_user_id, rows[1].lms_user_id, 'different LMS accounts per consumer')
})

t.test('PII on: name and email fill the profile; an email taken in the LMS is never linked', async t => {
  const { app, lms } = await setup(t)
  await addConsumer(app, 'canvas', 'canvas-secret', { usePii: true })
  const res = await post(app, PATH(), signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch()).body)
  t.equal(res.statusCode, 200)
  const u = await app.knex('lti_users').first()
  t.equal(u.lms_email, 'ada@example.edu')
  t.equal(lms.state.findUserByUsername(u.lms_username)?.name, 'Ada Lovelace')

  // Someone else already owns grace@example.edu in the LMS: the new account gets a synthetic email.
  lms.state.addUser({ username: 'grace', email: 'grace@example.edu', name: 'Grace' })
  const res2 = await post(app, PATH(), signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch({ user_id: 'other', lis_person_contact_email_primary: 'grace@example.edu' })).body)
  t.equal(res2.statusCode, 200)
  const u2 = await app.knex('lti_users').where({ lti_user_id: 'other' }).first()
  t.not(u2.lms_username, 'grace')
  t.equal(u2.lms_email, `${u2.lms_username}@lti.invalid`)
})

t.test('token and redirect handoffs', async t => {
  await t.test('token: a one-time JWT signed by our current key, aud = LMS, 60 s', async t => {
    const { app, lms } = await setup(t, { LMS_SESSION_HANDOFF: 'token' })
    await addConsumer(app, 'canvas', 'canvas-secret')
    const res = await post(app, PATH(), signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch()).body)
    t.equal(res.statusCode, 200)
    const form = parseAutoSubmit(res.body)
    t.equal(form.action, `${lms.url}/lti-provider/login`)
    const token = Object.fromEntries(form.fields).token!
    const jwks = (await app.inject({ method: 'GET', url: '/lti/1.3/jwks' })).json()
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience: new URL(lms.url).origin, issuer: PUBLIC_URL, algorithms: ['RS256'] })
    const user = await app.knex('lti_users').first()
    t.equal(payload.sub, user.lms_username)
    t.equal(payload.exp! - payload.iat!, 60)
    t.ok(payload.jti)
    t.match(String(payload.next), /^\/xblock\/block-v1:/)
    t.notOk(decodeJwt(token).email, 'no PII in the token')
  })
  await t.test('redirect: jump_to on the LMS', async t => {
    const { app, lms } = await setup(t, { LMS_SESSION_HANDOFF: 'redirect' })
    await addConsumer(app, 'canvas', 'canvas-secret')
    const res = await post(app, PATH(UNIT), signLaunchWithImsLti(PUBLIC_URL + PATH(UNIT), 'canvas', 'canvas-secret', baseLaunch()).body)
    t.equal(res.statusCode, 302)
    t.equal(res.headers.location, `${lms.url}/courses/${COURSE}/jump_to/${UNIT}`)
  })
})

t.test('bad input: each refusal has its code and status, and writes nothing', async t => {
  const { app, lms } = await setup(t)
  await addConsumer(app, 'canvas', 'canvas-secret', { contentScope: ['course-v1:OpenedX+DemoX+*'], outcomeHosts: ['canvas.example.edu'] })
  await addConsumer(app, 'strict', 'strict-secret', { requireUserAccount: true })
  const now = Math.floor(Date.now() / 1000)
  const sign = (over: Record<string, string> = {}, opts: Parameters<typeof signLaunchWithImsLti>[4] = {}, path = PATH(), key = 'canvas', secret = 'canvas-secret') =>
    signLaunchWithImsLti(PUBLIC_URL + path, key, secret, baseLaunch(over), opts).body
  const cases: Array<[string, string, string, number, string]> = [
    ['bad signature', PATH(), sign().replace(/oauth_signature=[^&]+/, 'oauth_signature=AAAA'), 401, 'LTI11_BAD_SIGNATURE'],
    ['wrong secret', PATH(), sign({}, {}, PATH(), 'canvas', 'nope'), 401, 'LTI11_BAD_SIGNATURE'],
    ['unknown consumer', PATH(), sign({}, {}, PATH(), 'who', 'x'), 401, 'LTI11_UNKNOWN_CONSUMER'],
    ['stale timestamp', PATH(), sign({}, { timestamp: now - 3600 }), 401, 'LTI11_STALE_TIMESTAMP'],
    ['future timestamp', PATH(), sign({}, { timestamp: now + 3600 }), 401, 'LTI11_STALE_TIMESTAMP'],
    ['PLAINTEXT', PATH(), sign({}, { method: 'PLAINTEXT' }), 401, 'LTI11_SIGNATURE_METHOD_NOT_ALLOWED'],
    ['RSA-SHA1', PATH(), sign({}, { method: 'RSA-SHA1' }), 401, 'LTI11_SIGNATURE_METHOD_NOT_ALLOWED'],
    ['missing user_id', PATH(), sign({ user_id: '' }), 400, 'LTI11_MISSING_PARAM'],
    ['wrong message type', PATH(), sign({ lti_message_type: 'ContentItemSelectionRequest' }), 400, 'LTI11_BAD_MESSAGE_TYPE'],
    ['wrong version', PATH(), sign({ lti_version: 'LTI-2p0' }), 400, 'LTI11_BAD_VERSION'],
    ['duplicated parameter', PATH(), sign() + '&user_id=someone-else', 401, 'LTI11_'],
    ['library key', '/lti_provider/courses/lib:OpenedX:lib1/lb:OpenedX:lib1:problem:p1', sign({}, {}, '/lti_provider/courses/lib:OpenedX:lib1/lb:OpenedX:lib1:problem:p1'), 400, 'CONTENT_'],
    ['legacy key', '/lti_provider/courses/OpenedX%2FDemoX%2FDemo/i4x:%2F%2FOpenedX%2FDemoX%2Fproblem%2Fp1', sign(), 400, 'CONTENT_'],
    ['usage of another course', PATH(usageKey('course-v1:OpenedX+Other+R', 'problem', 'p1')), sign({}, {}, PATH(usageKey('course-v1:OpenedX+Other+R', 'problem', 'p1'))), 400, 'CONTENT_USAGE_NOT_IN_COURSE'],
    ['outside content scope', PATH(usageKey('course-v1:MITx+6.002x+R', 'problem', 'p1'), 'course-v1:MITx+6.002x+R'), sign({}, {}, PATH(usageKey('course-v1:MITx+6.002x+R', 'problem', 'p1'), 'course-v1:MITx+6.002x+R')), 403, 'CONTENT_OUT_OF_SCOPE'],
    ['outcome URL on a forbidden host', PATH(), sign({ lis_result_sourcedid: 's', lis_outcome_service_url: 'https://evil.example.com/outcomes' }), 403, 'LAUNCH_OUTCOME_HOST_NOT_ALLOWED'],
    ['outcome URL over plain http', PATH(), sign({ lis_result_sourcedid: 's', lis_outcome_service_url: 'http://canvas.example.edu/outcomes' }), 400, 'LAUNCH_OUTCOME_URL_INVALID'],
    ['account link required', PATH(), sign({}, {}, PATH(), 'strict', 'strict-secret'), 403, 'LAUNCH_ACCOUNT_LINK_REQUIRED']
  ]
  for (const [name, path, body, status, code] of cases) {
    const before = await counts(app)
    const res = await post(app, path, body)
    t.equal(res.statusCode, status, `${name}: status (${res.body.slice(0, 300)})`)
    t.match(res.body, code, `${name}: code`)
    t.match(res.headers['content-type'], /text\/html/, `${name}: a page a learner can show`)
    t.notMatch(res.body, /at .*\.ts:\d+/, `${name}: no stack trace`)
    t.same(await counts(app), before, `${name}: nothing written`)
  }

  await t.test('LMS failures: 503 with a page, nothing half-written, a new launch works once it is back', async t => {
    for (const fault of [500, 'timeout'] as const) {
      lms.state.failNext('registration', 5, fault)
      const before = await counts(app)
      const res = await post(app, PATH(), sign({ user_id: `lms-down-${fault}` }))
      t.equal(res.statusCode, 503, `LMS ${fault}`)
      t.match(res.body, /LMS_UNAVAILABLE/)
      t.same(await counts(app), before)
      lms.state.clearFaults()
    }
    lms.state.failNext('enrollment-post', 5, 500)
    const res = await post(app, PATH(), sign({ user_id: 'enroll-down' }))
    t.equal(res.statusCode, 503, 'enrollment down')
    t.equal(Number((await app.knex('lti_users').where({ lti_user_id: 'enroll-down' }).count({ n: '*' }).first())?.n), 0)
    lms.state.clearFaults()
    const ok = await post(app, PATH(), sign({ user_id: 'enroll-down' }))
    t.equal(ok.statusCode, 200, 'works again once the LMS is back')
  })
})

t.test('no LMS configured: a clear 503', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL })
  await addConsumer(app, 'canvas', 'canvas-secret')
  const res = await post(app, PATH(), signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch()).body)
  t.equal(res.statusCode, 503)
  t.match(res.body, /LAUNCH_LMS_NOT_CONFIGURED/)
})

t.test('two first launches of the same learner at once: one mapping, both land, the outcome target is recorded', async t => {
  const { app, lms } = await setup(t)
  await addConsumer(app, 'canvas', 'canvas-secret')
  // Both launches must have looked the learner up before either creates the account.
  lms.barrier('registration', 2)
  const body = () => signLaunchWithImsLti(PUBLIC_URL + PATH(), 'canvas', 'canvas-secret', baseLaunch({
    user_id: 'racer', lis_result_sourcedid: 'race:1', lis_outcome_service_url: 'https://canvas.example.edu/outcomes'
  })).body
  const [a, b] = await Promise.all([post(app, PATH(), body()), post(app, PATH(), body())])
  t.equal(a.statusCode, 200, a.body.slice(0, 200))
  t.equal(b.statusCode, 200, b.body.slice(0, 200))
  t.equal(lms.state.requests.filter(r => r.route === 'registration').length, 2, 'both launches created an account: the race really happened')
  const users = await app.knex('lti_users').where({ lti_user_id: 'racer' })
  t.equal(users.length, 1, 'one mapping')
  const assignments = await app.knex('graded_assignments').where({ lti_user_id: users[0].id })
  t.equal(assignments.length, 1)
  t.same(JSON.parse((await app.knex('lti11_consumers').first()).outcome_hosts), ['canvas.example.edu'], 'host pinned whichever launch won')
})
