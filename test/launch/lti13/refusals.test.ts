/**
 * Every bad LTI 1.3 login and launch input of issue 4, through the real app: each is refused with
 * its own code and status, as a short HTML page, and nothing is stored (no profile, graded
 * resource, recorded deployment, LTI user or LMS account). Tokens come from the fake platform's
 * own key (or a hostile variant of it), states and bindings from our login route.
 */
import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLaunch, type FakeLti13Platform, type MintOptions } from '../../support/fake-lti13-platform.js'
import { buildTestApp } from '../../helpers/build-app.js'
import { LtiClaim, MessageType, Scope, ServiceClaim } from '../../../src/lti/claims.js'
import { contentTargetLinkUri } from '../../../src/lti/v13/tool-urls.js'
import { deriveStateKey, signStateToken } from '../../../src/lti/v13/state-token.js'
import { createLti13RegistrationsRepository, type NewLti13Registration } from '../../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../../src/db/repositories/lti13-deployments-repository.js'
import type { Config } from '../../../src/config.js'

const PUBLIC_URL = 'https://tool.example.org'
const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`
const COURSE = DEMO_COURSE_ID
const PROBLEM = usageKey(COURSE, 'problem', 'p1')
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const TARGET = contentTargetLinkUri(PUBLIC_URL, COURSE, PROBLEM)

interface Ctx { app: FastifyInstance, lms: FakeLms, platform: FakeLti13Platform, config: Config, registrationId: number }

async function setup (t: Test, env: Record<string, string> = {}, registration: Partial<NewLti13Registration> = {}): Promise<Ctx> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const platform = await startPlatform(t)
  const { app, config } = await buildTestApp(t, {
    PUBLIC_URL,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY.key,
    LMS_RELAY_CONSUMER_SECRET: RELAY.secret,
    LMS_TIMEOUT_MS: '1500',
    ...env
  })
  const registrationId = await addRegistration(app, platform, registration)
  return { app, lms, platform, config, registrationId }
}

async function startPlatform (t: Test, clientId?: string): Promise<FakeLti13Platform> {
  const platform = await startFakeLti13Platform({ redirectUris: [LAUNCH_URL], ...(clientId === undefined ? {} : { clientId }) })
  t.teardown(() => platform.close())
  return platform
}

async function addRegistration (app: FastifyInstance, platform: FakeLti13Platform, over: Partial<NewLti13Registration> = {}, deployments = [platform.deploymentId]): Promise<number> {
  const now = Date.now()
  const id = await createLti13RegistrationsRepository(app.knex).insert({
    name: 'Fake Open edX', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+DemoX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now, ...over
  })
  for (const deploymentId of deployments) {
    await createLti13DeploymentsRepository(app.knex).insert({ registrationId: id, deploymentId, source: 'admin', createdAt: now })
  }
  return id
}

interface LoginAnswer { status: number, body: string, cookie: string, state: string, nonce: string, location: string }

async function login (app: FastifyInstance, params: Record<string, string>, method: 'GET' | 'POST' = 'GET'): Promise<LoginAnswer> {
  const res = method === 'GET'
    ? await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(params)}`, headers: { accept: 'text/html' } })
    : await app.inject({ method: 'POST', url: '/lti/1.3/login', payload: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
  const location = String(res.headers.location ?? '')
  const query = location === '' ? new URLSearchParams() : new URL(location).searchParams
  return { status: res.statusCode, body: res.body, cookie: String(res.headers['set-cookie'] ?? '').split(';')[0] as string, state: query.get('state') ?? '', nonce: query.get('nonce') ?? '', location }
}

async function postLaunch (app: FastifyInstance, fields: Record<string, string>, cookie?: string) {
  return await app.inject({
    method: 'POST',
    url: '/lti/1.3/launch',
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...(cookie === undefined ? {} : { cookie }) }
  })
}

async function stored (ctx: Ctx) {
  const n = async (table: string) => Number((await ctx.app.knex(table).count({ n: '*' }).first())?.n)
  return {
    profiles: await n('lti_profiles'),
    resources: await n('graded_resources'),
    deployments: await n('lti13_deployments'),
    ltiUsers: await n('lti_users'),
    lmsUsers: ctx.lms.state.users.size
  }
}

/** Asserts the refusal: status, code, an HTML page without a stack, the launch headers, nothing stored. */
async function expectRefusal (t: Test, ctx: Ctx, name: string, status: number, code: string, act: () => Promise<{ statusCode: number, body: string, headers: Record<string, unknown> }>): Promise<void> {
  const before = await stored(ctx)
  const res = await act()
  t.equal(res.statusCode, status, `${name}: status (${res.body.slice(0, 200).replace(/\s+/g, ' ')})`)
  t.match(res.body, new RegExp(`Error code: <code>${code}</code>`), `${name}: ${code}`)
  t.match(String(res.headers['content-type']), /text\/html/, `${name}: a short page`)
  t.notMatch(res.body, /at .*\.ts:\d+/, `${name}: no stack trace`)
  t.equal(res.headers['cache-control'], 'no-store', `${name}: not cached`)
  t.same(await stored(ctx), before, `${name}: nothing stored`)
}

const learner = (over: Partial<FakeLaunch> = {}): FakeLaunch => ({ userId: 'learner-1', targetLinkUri: TARGET, ...over })

/** Login through our route, then post a token minted by the platform's key with `mint` options. */
async function launchWith (ctx: Ctx, mint: MintOptions & { loginTarget?: string } = {}, post: { cookie?: string | null, state?: string, idToken?: string | null } = {}) {
  const launch = mint.launch ?? learner()
  const answer = await login(ctx.app, ctx.platform.loginInitiation({ ...launch, targetLinkUri: mint.loginTarget ?? launch.targetLinkUri }))
  if (answer.status !== 302) throw new Error(`login refused: ${answer.body}`)
  const idToken = post.idToken === undefined ? await ctx.platform.mintIdToken({ nonce: answer.nonce, ...mint, launch }) : post.idToken
  const fields: Record<string, string> = { state: post.state ?? answer.state }
  if (idToken !== null) fields.id_token = idToken
  return await postLaunch(ctx.app, fields, post.cookie === null ? undefined : (post.cookie ?? answer.cookie))
}

t.test('login refusals', async t => {
  const ctx = await setup(t)
  const { app, platform } = ctx
  const states = async () => Number((await app.knex('oidc_states').count({ n: '*' }).first())?.n)
  const init = (over: Record<string, string | undefined> = {}): Record<string, string> => {
    const params: Record<string, string | undefined> = { ...platform.loginInitiation(learner()), ...over }
    return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined))
  }
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ['unknown issuer', init({ iss: 'https://unknown.example.com' }), 403, 'LTI13_UNKNOWN_REGISTRATION'],
    ['unknown client', init({ client_id: 'someone-else' }), 403, 'LTI13_UNKNOWN_REGISTRATION'],
    ['missing login_hint', init({ login_hint: undefined }), 400, 'LTI13_LOGIN_MISSING_PARAM'],
    ['missing iss', init({ iss: undefined }), 400, 'LTI13_LOGIN_MISSING_PARAM'],
    ['missing target_link_uri', init({ target_link_uri: undefined }), 400, 'LTI13_LOGIN_MISSING_PARAM'],
    ['target_link_uri off our origin', init({ target_link_uri: `https://evil.example.com/lti/1.3/courses/${COURSE}/${PROBLEM}` }), 400, 'LTI13_BAD_TARGET_LINK_URI'],
    ['target_link_uri on another route', init({ target_link_uri: `${PUBLIC_URL}/admin/api/v1/keys` }), 400, 'LTI13_BAD_TARGET_LINK_URI'],
    ['oversized login_hint', init({ login_hint: 'x'.repeat(3000) }), 400, 'LTI13_LOGIN_INVALID_PARAM']
  ]
  for (const [name, params, status, code] of cases) {
    for (const method of ['GET', 'POST'] as const) {
      await expectRefusal(t, ctx, `${method} ${name}`, status, code, async () => {
        const res = method === 'GET'
          ? await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(params)}`, headers: { accept: 'text/html' } })
          : await app.inject({ method: 'POST', url: '/lti/1.3/login', payload: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
        t.notOk(res.headers['set-cookie'], `${method} ${name}: no cookie`)
        return res
      })
      t.equal(await states(), 0, `${method} ${name}: no state saved`)
    }
  }

  await expectRefusal(t, ctx, 'parameter both in query and body', 400, 'LTI13_LOGIN_INVALID_PARAM', async () =>
    await app.inject({ method: 'POST', url: `/lti/1.3/login?iss=${encodeURIComponent(platform.issuer)}`, payload: new URLSearchParams(init()).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } }))

  await app.knex('lti13_registrations').update({ active: false })
  await expectRefusal(t, ctx, 'inactive registration', 403, 'LTI13_REGISTRATION_INACTIVE', async () =>
    await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(init())}`, headers: { accept: 'text/html' } }))
  t.equal(await states(), 0)
})

t.test('several clients for one issuer: client_id or a known deployment decides, never "the first"', async t => {
  const ctx = await setup(t)
  const { app, platform } = ctx
  await addRegistration(app, platform, { clientId: 'second-client' }, ['other-deployment'])
  const params = platform.loginInitiation(learner())
  const noClient = { ...params }
  delete (noClient as Record<string, string>).client_id
  const byDeployment = await login(app, noClient)
  t.equal(byDeployment.status, 302, 'the registration that knows lti_deployment_id')
  t.equal(new URL(byDeployment.location).searchParams.get('client_id'), platform.clientId)
  const unknownDeployment = { ...noClient, lti_deployment_id: 'nobody-knows' }
  await expectRefusal(t, ctx, 'ambiguous', 400, 'LTI13_AMBIGUOUS_REGISTRATION', async () =>
    await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(unknownDeployment)}`, headers: { accept: 'text/html' } }))
})

t.test('launch refusals: state, binding, token, claims, deployment, content', async t => {
  const ctx = await setup(t)
  const { app, platform, config } = ctx
  const now = Math.floor(Date.now() / 1000)
  const otherCourse = 'course-v1:MITx+6.002x+2024'
  const outOfScope = contentTargetLinkUri(PUBLIC_URL, otherCourse, usageKey(otherCourse, 'problem', 'p1'))
  const notInCourse = contentTargetLinkUri(PUBLIC_URL, COURSE, usageKey('course-v1:OpenedX+DemoX+Other', 'problem', 'p1'))

  // A second client of the same issuer: its tokens must not complete a login made for the first.
  await addRegistration(app, platform, { clientId: 'sibling-client' })

  const cases: Array<[string, number, string, () => ReturnType<typeof launchWith>]> = [
    ['missing state', 400, 'LTI13_STATE_MISSING', async () => await launchWith(ctx, {}, { state: '' })],
    ['forged state', 400, 'LTI13_STATE_INVALID', async () => await launchWith(ctx, {}, { state: 'eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiJ4In0.AAAA' })],
    ['expired state token', 400, 'LTI13_STATE_EXPIRED', async () => {
      const answer = await login(app, platform.loginInitiation(learner()))
      const stale = await signStateToken({ stateId: decodeJwt(answer.state).sid as string }, deriveStateKey(config.secretKey), { now: Date.now() - 3_600_000, ttlSeconds: 600 })
      return await postLaunch(app, { id_token: await platform.mintIdToken({ launch: learner(), nonce: answer.nonce }), state: stale }, answer.cookie)
    }],
    ['expired state record', 400, 'LTI13_STATE_EXPIRED', async () => {
      const answer = await login(app, platform.loginInitiation(learner()))
      await app.knex('oidc_states').update({ expires_at: Date.now() - 1000 })
      return await postLaunch(app, { id_token: await platform.mintIdToken({ launch: learner(), nonce: answer.nonce }), state: answer.state }, answer.cookie)
    }],
    ['reused state', 400, 'LTI13_STATE_REPLAYED', async () => {
      const answer = await login(app, platform.loginInitiation(learner()))
      const fields = { id_token: await platform.mintIdToken({ launch: learner(), nonce: answer.nonce, claims: { [LtiClaim.version]: '1.1' } }), state: answer.state }
      await postLaunch(app, fields, answer.cookie) // refused later in the pipeline, but the state is spent
      return await postLaunch(app, fields, answer.cookie)
    }],
    ['state from another browser (no cookie)', 403, 'LTI13_STATE_WRONG_BROWSER', async () => await launchWith(ctx, {}, { cookie: null })],
    ['state from another browser (its own cookie)', 403, 'LTI13_STATE_WRONG_BROWSER', async () => {
      const mine = await login(app, platform.loginInitiation(learner()))
      const theirs = await login(app, platform.loginInitiation(learner()))
      // The attacker's browser holds a binding cookie of its own login, renamed to the victim's state.
      const forged = `${mine.cookie.split('=')[0]}=${theirs.cookie.split('=')[1]}`
      return await postLaunch(app, { id_token: await platform.mintIdToken({ launch: learner(), nonce: mine.nonce }), state: mine.state }, forged)
    }],
    ['missing id_token', 400, 'LTI13_TOKEN_MISSING', async () => await launchWith(ctx, {}, { idToken: null })],
    ['malformed id_token', 400, 'LTI13_TOKEN_MALFORMED', async () => await launchWith(ctx, {}, { idToken: 'not-a-jwt' })],
    ['unknown issuer in the token', 403, 'LTI13_UNKNOWN_REGISTRATION', async () => await launchWith(ctx, { claims: { iss: 'https://unknown.example.com' } })],
    ['token of another client of the issuer', 400, 'LTI13_REGISTRATION_MISMATCH', async () => await launchWith(ctx, { claims: { aud: 'sibling-client', azp: 'sibling-client' } })],
    ['alg none', 401, 'LTI13_ALG_NOT_ALLOWED', async () => await launchWith(ctx, { signing: 'none' })],
    ['HS256 keyed with the public key', 401, 'LTI13_ALG_NOT_ALLOWED', async () => await launchWith(ctx, { signing: 'hs256-public-key' })],
    ['RS512 not allowed by the registration', 401, 'LTI13_ALG_NOT_ALLOWED', async () => await launchWith(ctx, { alg: 'RS512' })],
    ['header alg lying about the signature', 401, 'LTI13_ALG_NOT_ALLOWED', async () => await launchWith(ctx, { tamperHeader: { alg: 'HS512' } })],
    ['unknown kid (refetch refused or without it)', 401, 'LTI13_UNKNOWN_KID', async () => await launchWith(ctx, { signing: 'foreign-key', header: { kid: 'rotated-away' } })],
    ['foreign key under the published kid', 401, 'LTI13_BAD_SIGNATURE', async () => await launchWith(ctx, { signing: 'foreign-key' })],
    ['expired token', 401, 'LTI13_TOKEN_EXPIRED', async () => await launchWith(ctx, { iat: now - 7200 })],
    ['token from the future', 401, 'LTI13_TOKEN_FROM_FUTURE', async () => await launchWith(ctx, { iat: now + 600 })],
    ['token too old', 401, 'LTI13_TOKEN_TOO_OLD', async () => await launchWith(ctx, { iat: now - 400 })],
    ['wrong aud', 401, 'LTI13_WRONG_AUDIENCE', async () => await launchWith(ctx, { claims: { aud: ['another-tool'], azp: platform.clientId } })],
    ['several audiences without azp', 401, 'LTI13_BAD_AZP', async () => await launchWith(ctx, { claims: { aud: [platform.clientId, 'another-tool'], azp: undefined } })],
    ['azp of another tool', 401, 'LTI13_BAD_AZP', async () => await launchWith(ctx, { claims: { aud: [platform.clientId, 'another-tool'], azp: 'another-tool' } })],
    ['nonce mismatch', 401, 'LTI13_NONCE_MISMATCH', async () => await launchWith(ctx, { nonce: 'not-the-login-nonce' })],
    ['nonce replay: a captured token on a new login', 401, 'LTI13_NONCE_MISMATCH', async () => {
      const first = await login(app, platform.loginInitiation(learner()))
      const captured = await platform.mintIdToken({ launch: learner(), nonce: first.nonce })
      return await launchWith(ctx, {}, { idToken: captured })
    }],
    ['unknown deployment (strict)', 403, 'LTI13_UNKNOWN_DEPLOYMENT', async () => await launchWith(ctx, { claims: { [LtiClaim.deploymentId]: 'deployment-nobody-listed' } })],
    ['wrong version', 400, 'LTI13_BAD_VERSION', async () => await launchWith(ctx, { claims: { [LtiClaim.version]: '1.2.0' } })],
    ['wrong message type', 400, 'LTI13_BAD_MESSAGE_TYPE', async () => await launchWith(ctx, { claims: { [LtiClaim.messageType]: 'LtiSubmissionReviewRequest' } })],
    // A content selection request of a content URL (deep linking has its own target: test/launch/lti13/deep-linking.test.ts).
    ['deep linking request of a content URL', 400, 'LTI13_WRONG_MESSAGE_TARGET', async () => await launchWith(ctx, { claims: { [LtiClaim.messageType]: MessageType.deepLinkingRequest } })],
    ['missing roles', 400, 'LTI13_MISSING_CLAIM', async () => await launchWith(ctx, { claims: { [LtiClaim.roles]: undefined } })],
    ['missing resource_link', 400, 'LTI13_MISSING_CLAIM', async () => await launchWith(ctx, { claims: { [LtiClaim.resourceLink]: undefined } })],
    ['target_link_uri off our origin', 400, 'LTI13_BAD_TARGET_LINK_URI', async () =>
      await launchWith(ctx, { loginTarget: TARGET, launch: learner({ targetLinkUri: `https://evil.example.com/lti/1.3/courses/${COURSE}/${PROBLEM}` }) })],
    ['target_link_uri other than the login\'s', 400, 'LTI13_BAD_TARGET_LINK_URI', async () =>
      await launchWith(ctx, { loginTarget: TARGET, launch: learner({ targetLinkUri: contentTargetLinkUri(PUBLIC_URL, COURSE, usageKey(COURSE, 'vertical', 'unit1')) }) })],
    ['content outside the registration scope', 403, 'CONTENT_OUT_OF_SCOPE', async () => await launchWith(ctx, { launch: learner({ targetLinkUri: outOfScope }) })],
    ['block of another course', 400, 'CONTENT_USAGE_NOT_IN_COURSE', async () => await launchWith(ctx, { launch: learner({ targetLinkUri: notInCourse }) })],
    ['anonymous launch not allowed', 403, 'LTI13_ANONYMOUS_NOT_ALLOWED', async () => await launchWith(ctx, { claims: { sub: undefined } })],
    ['AGS line item on a host the registration does not allow', 403, 'LAUNCH_OUTCOME_HOST_NOT_ALLOWED', async () =>
      await launchWith(ctx, { claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore], lineitem: 'https://evil.example.com/lineitems/1' } } })],
    ['AGS line item over plain http', 400, 'LAUNCH_OUTCOME_URL_INVALID', async () =>
      await launchWith(ctx, { claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore], lineitem: 'http://lms.example.com/lineitems/1' } } })]
  ]
  for (const [name, status, code, act] of cases) {
    await expectRefusal(t, ctx, name, status, code, act)
  }

  await t.test('a registration deactivated between login and launch', async t => {
    const answer = await login(app, platform.loginInitiation(learner()))
    await app.knex('lti13_registrations').where({ id: ctx.registrationId }).update({ active: false })
    t.teardown(async () => { await app.knex('lti13_registrations').where({ id: ctx.registrationId }).update({ active: true }) })
    await expectRefusal(t, ctx, 'inactive at launch', 403, 'LTI13_REGISTRATION_INACTIVE', async () =>
      await postLaunch(app, { id_token: await platform.mintIdToken({ launch: learner(), nonce: answer.nonce }), state: answer.state }, answer.cookie))
  })

  await t.test('after all that, a good launch still works', async t => {
    const res = await launchWith(ctx)
    t.equal(res.statusCode, 200, res.body.slice(0, 300))
    t.equal((await stored(ctx)).profiles, 1)
  })
})

t.test('record policy: a refused launch records no deployment', async t => {
  const ctx = await setup(t, {}, { deploymentPolicy: 'record' })
  await ctx.app.knex('lti13_deployments').delete()
  const otherCourse = 'course-v1:MITx+6.002x+2024'
  await expectRefusal(t, ctx, 'out of scope under record', 403, 'CONTENT_OUT_OF_SCOPE', async () =>
    await launchWith(ctx, { launch: learner({ targetLinkUri: contentTargetLinkUri(PUBLIC_URL, otherCourse, usageKey(otherCourse, 'problem', 'p1')) }) }))
  await expectRefusal(t, ctx, 'bad message under record', 400, 'LTI13_BAD_VERSION', async () => await launchWith(ctx, { claims: { [LtiClaim.version]: '1.0' } }))
  t.equal((await stored(ctx)).deployments, 0)
  t.equal((await launchWith(ctx)).statusCode, 200)
  t.equal((await stored(ctx)).deployments, 1, 'recorded once the launch succeeds')
})

t.test('platform JWKS down or huge: LTI13_JWKS_UNAVAILABLE, fetched through the guarded client', async t => {
  const ctx = await setup(t)
  for (const fault of ['jwksDown', 'jwksHuge'] as const) {
    // A platform of its own per fault: the app's JWKS cache must not have its keys yet.
    const platform = await startPlatform(t, `client-${fault}`)
    await addRegistration(ctx.app, platform)
    platform.faults[fault] = true
    const local: Ctx = { ...ctx, platform }
    await expectRefusal(t, local, fault, 502, 'LTI13_JWKS_UNAVAILABLE', async () => await launchWith(local))
    t.equal(platform.jwksRequests, 1, `${fault}: asked once`)
    await expectRefusal(t, local, `${fault} again within 30 s`, 502, 'LTI13_JWKS_UNAVAILABLE', async () => await launchWith(local))
    t.equal(platform.jwksRequests, 1, `${fault}: not hammered (one fetch per 30 s)`)
  }
})

t.test('JWKS on a private address is never fetched outside test mode\'s loopback allowance', async t => {
  const ctx = await setup(t, { OUTBOUND_ALLOW_LOOPBACK_HTTP: 'false' })
  // Login works (no fetch); the launch needs the JWKS, on plain http to 127.0.0.1: refused by the SSRF guard.
  await expectRefusal(t, ctx, 'loopback JWKS', 502, 'LTI13_JWKS_UNAVAILABLE', async () => await launchWith(ctx))
  t.equal(ctx.platform.jwksRequests, 0, 'no request left the tool')
})

t.test('LMS failures: 503, nothing half-written; the next launch works', async t => {
  const ctx = await setup(t)
  ctx.lms.state.failNext('registration', 5, 500)
  await expectRefusal(t, ctx, 'LMS registration down', 503, 'LMS_UNAVAILABLE', async () => await launchWith(ctx))
  ctx.lms.state.clearFaults()
  ctx.lms.state.failNext('enrollment-post', 5, 500)
  const before = await stored(ctx)
  const res = await launchWith(ctx)
  t.equal(res.statusCode, 503, 'enrollment down')
  t.equal((await stored(ctx)).profiles, before.profiles, 'no profile without enrollment')
  ctx.lms.state.clearFaults()
  t.equal((await launchWith(ctx)).statusCode, 200)
})

t.test('no LMS configured: a clear 503 after the protocol checks', async t => {
  const platform = await startPlatform(t)
  const { app, config } = await buildTestApp(t, { PUBLIC_URL })
  const registrationId = await addRegistration(app, platform, { contentScope: ['*'] })
  const ctx: Ctx = { app, platform, config, registrationId, lms: { url: '', state: { users: new Map() }, close: async () => {} } as unknown as FakeLms }
  await expectRefusal(t, ctx, 'no LMS', 503, 'LAUNCH_LMS_NOT_CONFIGURED', async () => await launchWith(ctx))
})

t.test('the refusal page escapes what it shows and never echoes the token', async t => {
  const ctx = await setup(t)
  const res = await launchWith(ctx, { claims: { [LtiClaim.messageType]: '<script>alert(1)</script>' } })
  t.equal(res.statusCode, 400)
  t.notMatch(res.body, /<script>alert/)
  t.notMatch(res.body, /eyJ/, 'no JWT in the page')
  t.match(res.body, /LTI13_BAD_MESSAGE_TYPE/)
})
