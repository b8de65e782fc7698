/**
 * LTI 1.3 launches end to end through the real app: OIDC login on our route, the fake Open edX
 * platform's auth endpoint minting the id_token (its own RSA key, its JWKS fetched through the
 * hardened outbound client), our launch route, identity over REST against the fake LMS, and the
 * relay handoff followed to the LMS, which logs in exactly the mapped account.
 */
import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../../support/fake-lms.js'
import { startFakeLti13Platform, parseAutoSubmitForm, type FakeLaunch, type FakeLti13Platform } from '../../support/fake-lti13-platform.js'
import { buildTestApp } from '../../helpers/build-app.js'
import { signLaunchWithImsLti, parseAutoSubmit } from '../../helpers/ims-lti-signer.js'
import { LtiClaim, Role, Scope, ServiceClaim } from '../../../src/lti/claims.js'
import { contentTargetLinkUri } from '../../../src/lti/v13/tool-urls.js'
import { createLti11ConsumersRepository } from '../../../src/db/repositories/lti11-consumers-repository.js'
import { createLti13RegistrationsRepository, type NewLti13Registration } from '../../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../../src/db/repositories/lti13-deployments-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../../src/launch/lti11/launch.js'

const PUBLIC_URL = 'https://tool.example.org'
const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`
const COURSE = DEMO_COURSE_ID
const PROBLEM = usageKey(COURSE, 'problem', 'p1')
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }

interface Ctx { app: FastifyInstance, lms: FakeLms, platform: FakeLti13Platform, registrationId: number }

async function setup (t: Test, opts: { env?: Record<string, string>, registration?: Partial<NewLti13Registration>, deployments?: string[] } = {}): Promise<Ctx> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti13Platform({ redirectUris: [LAUNCH_URL] })
  t.teardown(() => platform.close())
  const { app } = await buildTestApp(t, {
    PUBLIC_URL,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY.key,
    LMS_RELAY_CONSUMER_SECRET: RELAY.secret,
    LMS_TIMEOUT_MS: '1500',
    ...opts.env
  })
  const registrationId = await addRegistration(app, platform, opts.registration, opts.deployments ?? [platform.deploymentId])
  return { app, lms, platform, registrationId }
}

async function addRegistration (app: FastifyInstance, platform: FakeLti13Platform, over: Partial<NewLti13Registration> = {}, deployments: string[] = []): Promise<number> {
  const now = Date.now()
  const id = await createLti13RegistrationsRepository(app.knex).insert({
    name: 'Fake Open edX', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now, ...over
  })
  for (const deploymentId of deployments) {
    await createLti13DeploymentsRepository(app.knex).insert({ registrationId: id, deploymentId, source: 'admin', createdAt: now })
  }
  return id
}

const target = (usage = PROBLEM, course = COURSE): string => contentTargetLinkUri(PUBLIC_URL, course, usage)

interface LoginAnswer { status: number, location: string, cookie: string, setCookie: string, state: string, nonce: string, body: string }

async function login (app: FastifyInstance, platform: FakeLti13Platform, launch: FakeLaunch): Promise<LoginAnswer> {
  const res = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
  const setCookie = String(res.headers['set-cookie'] ?? '')
  const location = String(res.headers.location ?? '')
  const query = location === '' ? new URLSearchParams() : new URL(location).searchParams
  return { status: res.statusCode, location, cookie: setCookie.split(';')[0] as string, setCookie, state: query.get('state') ?? '', nonce: query.get('nonce') ?? '', body: res.body }
}

/** The platform's auth endpoint, as the browser follows our redirect: its auto-submitted form_post. */
async function authorize (location: string): Promise<Record<string, string>> {
  const res = await fetch(location, { redirect: 'manual', signal: AbortSignal.timeout(5000) })
  const body = await res.text()
  if (res.status !== 200) throw new Error(`auth endpoint refused: ${res.status} ${body}`)
  const form = parseAutoSubmitForm(body)
  if (form.action !== LAUNCH_URL) throw new Error(`form_post to ${form.action}`)
  return form.fields
}

async function postLaunch (app: FastifyInstance, fields: Record<string, string>, cookie?: string) {
  return await app.inject({
    method: 'POST',
    url: '/lti/1.3/launch',
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...(cookie === undefined ? {} : { cookie }) }
  })
}

async function roundTrip (ctx: Ctx, launch: FakeLaunch) {
  const answer = await login(ctx.app, ctx.platform, launch)
  const fields = await authorize(answer.location)
  return await postLaunch(ctx.app, { id_token: fields.id_token as string, state: fields.state as string }, answer.cookie)
}

async function count (app: FastifyInstance, table: string): Promise<number> {
  return Number((await app.knex(table).count({ n: '*' }).first())?.n)
}

/** Follows the relay form to the fake LMS's built-in LTI 1.1 provider; returns the account it logged in. */
async function followRelay (t: Test, lms: FakeLms, html: string): Promise<string | null> {
  const form = parseAutoSubmit(html)
  t.ok(form.action.startsWith(`${lms.url}/lti_provider/courses/`), 'relay form goes to the LMS provider')
  const res = await fetch(form.action, { method: 'POST', body: new URLSearchParams(form.fields), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' })
  t.ok(res.status < 400, `the LMS accepted the relay (${res.status})`)
  return lms.state.relayLaunches.at(-1)?.username ?? null
}

t.test('round trip: login → platform auth → launch → LMS account, enrollment, AGS target → relay lands in the block', async t => {
  const ctx = await setup(t)
  const { app, lms, platform } = ctx
  const learners: number[] = []
  app.launchEvents.onNewLearner.push(id => learners.push(id))
  const usersBefore = lms.state.users.size

  const answer = await login(app, platform, { userId: 'student-42', targetLinkUri: target() })
  t.equal(answer.status, 302)
  t.ok(answer.location.startsWith(platform.authLoginUrl), 'redirected to the platform auth endpoint')
  t.equal(answer.state.length > 0 && answer.nonce.length > 0, true)
  t.match(answer.setCookie, /^__Host-lti13_[A-Za-z0-9_-]+=[A-Za-z0-9_-]+; Max-Age=600; Path=\/; Secure; HttpOnly; SameSite=None; Partitioned$/)
  t.equal(await count(app, 'oidc_states'), 1, 'state saved server-side')

  const fields = await authorize(answer.location)
  const res = await postLaunch(app, { id_token: fields.id_token as string, state: fields.state as string }, answer.cookie)
  t.equal(res.statusCode, 200, res.body.slice(0, 500))
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.match(String(res.headers['set-cookie']), /^__Host-lti13_[A-Za-z0-9_-]+=; Max-Age=0; Path=\/; Secure/, 'binding cookie cleared')
  t.equal(await count(app, 'oidc_states'), 0, 'state consumed')

  t.equal(lms.state.users.size, usersBefore + 1, 'one LMS account created')
  const profile = await app.knex('lti_profiles').first()
  t.equal(profile.sub, 'student-42')
  t.equal(Number(profile.registration_id), ctx.registrationId)
  t.match(profile.lms_username, /^[A-Za-z0-9]{30}$/)
  t.equal(profile.lms_email, `${profile.lms_username}@lti.invalid`, 'synthetic email without PII')
  t.ok(lms.state.enrollments.get(`${profile.lms_username}|${COURSE}`), 'enrolled in the course')
  t.same(learners, [Number(profile.lms_user_id)], 'new learner announced once')

  const resource = await app.knex('graded_resources').first()
  t.equal(Number(resource.profile_id), Number(profile.id))
  t.equal(resource.usage_key, PROBLEM)
  t.equal(resource.course_key, COURSE)
  t.equal(resource.deployment_id, platform.deploymentId)
  t.equal(Number(resource.lms_user_id), Number(profile.lms_user_id))
  t.match(resource.lineitem_url, new RegExp(`^${platform.issuer}/api/lti_consumer/v1/lti/[^/]+/lti-ags/7$`))
  t.same(JSON.parse(resource.scopes), [Scope.agsLineItemReadonly, Scope.agsResultReadonly, Scope.agsScore])
  t.equal(Number(resource.version_number), 0)

  const form = Object.fromEntries(parseAutoSubmit(res.body).fields)
  t.equal(form.user_id, profile.lms_username)
  t.equal(form.roles, 'Learner', 'learner role only')
  t.notOk('lis_outcome_service_url' in form, 'the LMS must not pass grades back itself')
  t.equal(await followRelay(t, lms, res.body), profile.lms_username, 'the LMS logged in exactly the mapped account')
  t.equal(lms.state.relayLaunches.at(-1)?.usageId, PROBLEM, 'in the launched block')

  await t.test('the same form_post again is refused and writes nothing', async t => {
    const replay = await postLaunch(app, { id_token: fields.id_token as string, state: fields.state as string }, answer.cookie)
    t.equal(replay.statusCode, 400)
    t.match(replay.body, /LTI13_STATE_REPLAYED/)
    t.equal(await count(app, 'lti_profiles'), 1)
  })

  await t.test('returning learner keeps the profile and account; the AGS version is kept', async t => {
    await app.knex('graded_resources').update({ version_number: 5 })
    const again = await roundTrip(ctx, { userId: 'student-42', targetLinkUri: target() })
    t.equal(again.statusCode, 200)
    t.equal(await count(app, 'lti_profiles'), 1)
    t.equal(lms.state.requests.filter(r => r.route === 'registration').length, 1, 'no second LMS account')
    t.equal(await count(app, 'graded_resources'), 1)
    t.equal(Number((await app.knex('graded_resources').first()).version_number), 5, 'version guard kept')
    t.same(learners.length, 1, 'not announced again')
  })

  await t.test('returning learner, nothing changed: no write; a new line item or scope set is written', async t => {
    // updated_at is set by every upsert: a sentinel shows whether the launch wrote the row.
    await app.knex('graded_resources').update({ updated_at: 1 })
    const writes: string[] = []
    const onQuery = (q: { sql: string }) => { if (!/^\s*select/i.test(q.sql)) writes.push(q.sql) }
    app.knex.on('query', onQuery)
    const same = await roundTrip(ctx, { userId: 'student-42', targetLinkUri: target() })
    app.knex.off('query', onQuery)
    t.equal(same.statusCode, 200)
    t.same(writes, [], 'no knex write (no transaction, no upsert)')
    t.equal(Number((await app.knex('graded_resources').first()).updated_at), 1, 'the graded resource row is untouched')
    t.equal(await count(app, 'oidc_states'), 0, 'the state was still consumed')

    const lineitem = `${platform.issuer}/api/lti_consumer/v1/lti/x/lti-ags/8`
    const moved = await roundTrip(ctx, { userId: 'student-42', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore], lineitem } } })
    t.equal(moved.statusCode, 200)
    const row = await app.knex('graded_resources').first()
    t.equal(row.lineitem_url, lineitem, 'new line item written')
    t.same(JSON.parse(row.scopes), [Scope.agsScore], 'new scopes written')
    t.ok(Number(row.updated_at) > 1, 'updated_at refreshed')
    t.equal(Number(row.version_number), 5, 'version guard kept')

    await app.knex('graded_resources').update({ updated_at: 1 })
    const scopes = await roundTrip(ctx, { userId: 'student-42', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore, Scope.agsResultReadonly], lineitem } } })
    t.equal(scopes.statusCode, 200)
    t.same(JSON.parse((await app.knex('graded_resources').first()).scopes), [Scope.agsScore, Scope.agsResultReadonly], 'a changed scope set alone is written')
    t.equal(await count(app, 'graded_resources'), 1)
  })

  await t.test('another block of the course: a second graded resource on the same profile', async t => {
    const unit = usageKey(COURSE, 'vertical', 'unit1')
    const res = await roundTrip(ctx, { userId: 'student-42', targetLinkUri: target(unit) })
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    t.same((await app.knex('graded_resources').select('usage_key').orderBy('id')).map(r => r.usage_key), [PROBLEM, unit])
  })
})

t.test('PII on: the platform name and email fill the new account', async t => {
  const ctx = await setup(t, { registration: { usePii: true } })
  const res = await roundTrip(ctx, { userId: 'ada', targetLinkUri: target(), pii: { name: 'Ada Lovelace', email: 'Ada@Example.edu' } })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const profile = await ctx.app.knex('lti_profiles').first()
  t.equal(profile.lms_email, 'ada@example.edu')
  t.equal(ctx.lms.state.findUserByUsername(profile.lms_username)?.name, 'Ada Lovelace')
  t.equal(Object.fromEntries(parseAutoSubmit(res.body).fields).lis_person_name_full, 'Ada Lovelace')
})

t.test('PII off (default): nothing personal reaches the LMS', async t => {
  const ctx = await setup(t)
  const res = await roundTrip(ctx, { userId: 'grace', targetLinkUri: target(), pii: { name: 'Grace Hopper', email: 'grace@example.edu' } })
  t.equal(res.statusCode, 200)
  const profile = await ctx.app.knex('lti_profiles').first()
  t.equal(profile.lms_email, `${profile.lms_username}@lti.invalid`)
  t.notMatch(res.body, /Grace|grace@/)
})

t.test('instructor roles get a learner view: roles are mapped, never forwarded', async t => {
  const ctx = await setup(t)
  const res = await roundTrip(ctx, { userId: 'teacher', targetLinkUri: target(), roles: [Role.systemAdministrator, Role.institutionInstructor, Role.membershipInstructor] })
  t.equal(res.statusCode, 200)
  t.equal(Object.fromEntries(parseAutoSubmit(res.body).fields).roles, 'Learner')
})

t.test('content named by the generic target + custom openedx_usage_key', async t => {
  const ctx = await setup(t)
  const res = await roundTrip(ctx, { userId: 'generic', targetLinkUri: LAUNCH_URL, custom: { openedx_usage_key: PROBLEM } })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.equal((await ctx.app.knex('graded_resources').first()).course_key, COURSE, 'course derived from the usage key')
})

t.test('record policy: a new deployment is accepted and recorded with the launch', async t => {
  const ctx = await setup(t, { registration: { deploymentPolicy: 'record' }, deployments: [] })
  const res = await roundTrip(ctx, { userId: 'r1', targetLinkUri: target() })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  const rows = await ctx.app.knex('lti13_deployments').select('*')
  t.equal(rows.length, 1)
  t.equal(rows[0].deployment_id, ctx.platform.deploymentId)
  t.equal(rows[0].source, 'recorded')
  const again = await roundTrip(ctx, { userId: 'r2', targetLinkUri: target() })
  t.equal(again.statusCode, 200, 'recording is idempotent')
  t.equal(await count(ctx.app, 'lti13_deployments'), 1)
})

t.test('AGS capture only with the score scope and a line item', async t => {
  const ctx = await setup(t)
  const lineitem = `${ctx.platform.issuer}/api/lti_consumer/v1/lti/x/lti-ags/9`
  const noScore = await roundTrip(ctx, { userId: 'a1', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsLineItemReadonly], lineitem } } })
  t.equal(noScore.statusCode, 200)
  const noItem = await roundTrip(ctx, { userId: 'a2', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore], lineitems: lineitem } } })
  t.equal(noItem.statusCode, 200)
  const none = await roundTrip(ctx, { userId: 'a3', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: undefined } })
  t.equal(none.statusCode, 200)
  t.equal(await count(ctx.app, 'lti_profiles'), 3)
  t.equal(await count(ctx.app, 'graded_resources'), 0)
  const withScore = await roundTrip(ctx, { userId: 'a4', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore], lineitem } } })
  t.equal(withScore.statusCode, 200)
  t.equal((await ctx.app.knex('graded_resources').first()).lineitem_url, lineitem)
})

t.test('AGS line item on an admin-allowed host other than the issuer\'s', async t => {
  // `localhost` resolves to loopback like the issuer's 127.0.0.1, but is another host name.
  const ctx = await setup(t, { registration: { allowedHosts: ['localhost'] } })
  const lineitem = `${ctx.platform.issuer.replace('127.0.0.1', 'localhost')}/ags/lineitems/3`
  const res = await roundTrip(ctx, { userId: 'h1', targetLinkUri: target(), claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore], lineitem } } })
  t.equal(res.statusCode, 200, res.body.slice(0, 300))
  t.equal((await ctx.app.knex('graded_resources').first()).lineitem_url, lineitem)
})

t.test('anonymous launch where allowed: jump_to on the LMS, no account, nothing stored', async t => {
  const ctx = await setup(t, { registration: { allowAnonymous: true } })
  const usersBefore = ctx.lms.state.users.size
  const res = await roundTrip(ctx, { userId: 'anon-hint', targetLinkUri: target(), claims: { sub: undefined } })
  t.equal(res.statusCode, 302, res.body.slice(0, 300))
  t.equal(res.headers.location, `${ctx.lms.url}/courses/${COURSE}/jump_to/${PROBLEM}`)
  t.equal(await count(ctx.app, 'lti_profiles'), 0)
  t.equal(await count(ctx.app, 'graded_resources'), 0)
  t.equal(ctx.lms.state.users.size, usersBefore)
})

t.test('token handoff: the one-time JWT names the profile\'s account', async t => {
  const ctx = await setup(t, { env: { LMS_SESSION_HANDOFF: 'token' } })
  const res = await roundTrip(ctx, { userId: 't1', targetLinkUri: target() })
  t.equal(res.statusCode, 200)
  const form = parseAutoSubmit(res.body)
  t.equal(form.action, `${ctx.lms.url}/lti-provider/login`)
  const token = Object.fromEntries(form.fields).token as string
  const payload = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'))
  t.equal(payload.sub, (await ctx.app.knex('lti_profiles').first()).lms_username)
})

t.test('LTI 1.1 → 1.3 migration: the learner keeps the LMS account of the linked 1.1 consumer', async t => {
  const ctx = await setup(t)
  const { app, lms, platform } = ctx
  const consumerKey = '179248902'
  const consumerSecret = 'my-lti11-secret'
  const now = Date.now()
  const consumerId = await createLti11ConsumersRepository(app.knex).insert({
    name: 'platform 1.1', consumerKey, secretEnc: app.secretBox.seal(consumerSecret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: [], pinOutcomeHost: true,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  await app.knex('lti13_registrations').where({ id: ctx.registrationId }).update({ lti11_consumer_id: consumerId })

  // The learner's LTI 1.1 history: a launch signed by ims-lti, as the platform did before the upgrade.
  const path11 = `/lti_provider/courses/${COURSE}/${PROBLEM}`
  const signed = signLaunchWithImsLti(PUBLIC_URL + path11, consumerKey, consumerSecret, {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: '34212', roles: 'Learner', context_id: 'ctx-1'
  })
  const res11 = await app.inject({ method: 'POST', url: path11, payload: signed.body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(res11.statusCode, 200, res11.body.slice(0, 300))
  const ltiUser = await app.knex('lti_users').where({ lti_user_id: '34212' }).first()
  const usersBefore = lms.state.users.size

  const launch: FakeLaunch = { userId: 'new-1p3-sub', targetLinkUri: target() }
  // The platform signs the claim over fields of this very token (1EdTech migration guide); the
  // HMAC here is node:crypto, not our lti1p1 module.
  const mint = async (answer: LoginAnswer, secret: string) => {
    const iat = Math.floor(Date.now() / 1000)
    const base = [consumerKey, platform.deploymentId, platform.issuer, platform.clientId, String(iat + 3600), answer.nonce].join('&')
    const sign = createHmac('sha256', secret).update(base).digest('base64')
    return await platform.mintIdToken({ launch, nonce: answer.nonce, iat, claims: { [LtiClaim.lti1p1]: { user_id: '34212', oauth_consumer_key: consumerKey, oauth_consumer_key_sign: sign } } })
  }

  await t.test('a claim signed with another secret is refused, nothing stored', async t => {
    const answer = await login(app, platform, launch)
    const res = await postLaunch(app, { id_token: await mint(answer, 'not-the-secret'), state: answer.state }, answer.cookie)
    t.equal(res.statusCode, 401)
    t.match(res.body, /LTI13_LTI1P1_BAD_SIGNATURE/)
    t.equal(await count(app, 'lti_profiles'), 0)
  })

  await t.test('a verified claim maps the new profile onto the 1.1 account', async t => {
    const answer = await login(app, platform, launch)
    const res = await postLaunch(app, { id_token: await mint(answer, consumerSecret), state: answer.state }, answer.cookie)
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    const profile = await app.knex('lti_profiles').where({ sub: 'new-1p3-sub' }).first()
    t.equal(Number(profile.lms_user_id), Number(ltiUser.lms_user_id), 'same LMS account')
    t.equal(profile.lms_username, ltiUser.lms_username)
    t.equal(lms.state.users.size, usersBefore, 'no new LMS account')
    t.equal(await followRelay(t, lms, res.body), ltiUser.lms_username, 'the LMS logs in the 1.1 account')
  })

  await t.test('an incomplete claim on a linked registration is refused', async t => {
    const answer = await login(app, platform, { userId: 'other-sub', targetLinkUri: target() })
    const token = await platform.mintIdToken({ launch: { userId: 'other-sub', targetLinkUri: target() }, nonce: answer.nonce, claims: { [LtiClaim.lti1p1]: { user_id: '34212' } } })
    const res = await postLaunch(app, { id_token: token, state: answer.state }, answer.cookie)
    t.equal(res.statusCode, 400)
    t.match(res.body, /LTI13_LTI1P1_CLAIM_INCOMPLETE/)
    t.equal(await count(app, 'lti_profiles'), 1)
  })
})

t.test('platform storage: binding kept by the platform when the cookie does not come back', async t => {
  const ctx = await setup(t)
  const { app, platform } = ctx
  const launch: FakeLaunch = { userId: 'ps-1', targetLinkUri: target(), ltiStorageTarget: '_parent' }
  const res = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
  t.equal(res.statusCode, 200, 'the storage page, not a redirect')
  t.equal(res.headers['cache-control'], 'no-store')
  t.match(String(res.headers['set-cookie']), /^__Host-lti13_/, 'the cookie is still set where it works')
  const config = JSON.parse(/<script type="application\/json" id="lti-storage-config">([^<]*)<\/script>/.exec(res.body)?.[1] as string)
  t.equal(config.op, 'put')
  t.equal(config.targetOrigin, platform.issuer, 'postMessage only to the platform auth endpoint\'s origin')
  t.equal(config.frame, '_parent')
  const stored = config.entries[0] as { key: string, value: string }
  // The page's GET form goes to the auth endpoint with the authentication request as its fields.
  const next = parseAutoSubmitForm(res.body)
  t.equal(next.action, platform.authLoginUrl)
  t.equal(next.method, 'GET')
  const fields = await authorize(`${next.action}?${new URLSearchParams(next.fields)}`)

  // Cookie blocked: the launch first answers a page that reads the binding back from storage.
  const first = await postLaunch(app, { id_token: fields.id_token as string, state: fields.state as string })
  t.equal(first.statusCode, 200)
  t.match(first.body, /"op":"get"/)
  const back = parseAutoSubmitForm(first.body)
  t.equal(back.action, LAUNCH_URL)
  t.same(Object.keys(back.fields).sort(), ['id_token', 'lti_storage_binding', 'state'])
  t.equal(await count(app, 'oidc_states'), 1, 'the state is not consumed before a binding is offered')

  await t.test('storage found nothing: refused as another browser', async t => {
    const other = await login(app, platform, launch)
    t.equal(other.status, 200)
    const res = await postLaunch(app, { id_token: 'x.y.z', state: /name="state" value="([^"]*)"/.exec(other.body)?.[1] ?? '', lti_storage_binding: '' })
    t.equal(res.statusCode, 403)
    t.match(res.body, /LTI13_STATE_WRONG_BROWSER/)
  })

  const done = await postLaunch(app, { ...back.fields, lti_storage_binding: stored.value })
  t.equal(done.statusCode, 200, done.body.slice(0, 300))
  t.match(done.body, /lti_provider\/courses/)
  t.equal(await count(app, 'lti_profiles'), 1)
})

t.test('two launches started side by side keep separate bindings', async t => {
  const ctx = await setup(t)
  const a = await login(ctx.app, ctx.platform, { userId: 'side-a', targetLinkUri: target() })
  const b = await login(ctx.app, ctx.platform, { userId: 'side-b', targetLinkUri: target() })
  t.not(a.cookie.split('=')[0], b.cookie.split('=')[0], 'one cookie per login')
  const fa = await authorize(a.location)
  const fb = await authorize(b.location)
  const both = `${a.cookie}; ${b.cookie}`
  t.equal((await postLaunch(ctx.app, { id_token: fb.id_token as string, state: fb.state as string }, both)).statusCode, 200)
  t.equal((await postLaunch(ctx.app, { id_token: fa.id_token as string, state: fa.state as string }, both)).statusCode, 200)
  t.equal(await count(ctx.app, 'lti_profiles'), 2)
})

t.test('concurrent posts of one launch: exactly one wins', async t => {
  const ctx = await setup(t)
  const answer = await login(ctx.app, ctx.platform, { userId: 'race', targetLinkUri: target() })
  const fields = await authorize(answer.location)
  const body = { id_token: fields.id_token as string, state: fields.state as string }
  const results = await Promise.all(Array.from({ length: 5 }, async () => await postLaunch(ctx.app, body, answer.cookie)))
  t.same(results.map(r => r.statusCode).sort(), [200, 400, 400, 400, 400])
  t.equal(results.filter(r => /LTI13_STATE_REPLAYED/.test(r.body)).length, 4)
  t.equal(await count(ctx.app, 'lti_profiles'), 1)
})

t.test('the same learner\'s first launch twice at once: one profile, both land on its account', async t => {
  const ctx = await setup(t, { registration: { deploymentPolicy: 'record' }, deployments: [] })
  const logins = await Promise.all([0, 1].map(async () => await login(ctx.app, ctx.platform, { userId: 'twin', targetLinkUri: target() })))
  const forms = await Promise.all(logins.map(async answer => await authorize(answer.location)))
  // Both launches must have looked the learner up before either creates the account.
  ctx.lms.barrier('registration', 2)
  const results = await Promise.all(forms.map(async (fields, i) =>
    await postLaunch(ctx.app, { id_token: fields.id_token as string, state: fields.state as string }, logins[i]?.cookie)))
  t.same(results.map(r => r.statusCode), [200, 200], results.map(r => r.body.slice(0, 200)).join('\n'))
  t.equal(await count(ctx.app, 'lti_profiles'), 1, 'one profile')
  t.equal(ctx.lms.state.requests.filter(r => r.route === 'registration').length, 2, 'both launches created an account: the race really happened')
  const profile = await ctx.app.knex('lti_profiles').first()
  t.same(results.map(r => Object.fromEntries(parseAutoSubmit(r.body).fields).user_id), [profile.lms_username, profile.lms_username], 'both on the winning account')
  t.equal(await count(ctx.app, 'graded_resources'), 1, 'the graded resource on the winning profile')
  t.equal(await count(ctx.app, 'lti13_deployments'), 1, 'the recorded deployment survives the retried transaction')
})
