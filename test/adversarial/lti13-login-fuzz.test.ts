/**
 * Property-based hostile input against the LTI 1.3 OIDC login (GET and POST /lti/1.3/login) and
 * the headers of the tool's public routes: hostile iss, login_hint, target_link_uri (open redirect
 * attempts), lti_message_hint, client_id and repeated parameters; CR/LF meant for the Location and
 * Set-Cookie headers; Host / X-Forwarded-* tricks (every absolute URL comes from PUBLIC_URL); huge
 * headers on a real socket. A login either redirects to the registered platform's auth endpoint,
 * with exactly one state stored and one `__Host-` cookie, or is refused with its code, no state
 * and no cookie.
 *
 * Fixed cases (missing parameters, unknown issuer, inactive registration…) are in
 * test/launch/lti13/refusals.test.ts ("login refusals"); these are the property versions.
 */
import t, { type Test } from 'tap'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { buildTestApp, adminHeaders, TEST_ADMIN_TOKEN } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { createLti13RegistrationsRepository } from '../../src/db/repositories/lti13-registrations-repository.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { HOSTILE_STRINGS, countRows, createTally, refusalCode, unsafeAnswer, type InjectAnswer } from '../support/hostile-input.js'

const PUBLIC_URL = 'https://tool.example.org'
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const TARGET = contentTargetLinkUri(PUBLIC_URL, DEMO_COURSE_ID, PROBLEM)
const SECRETS = [TEST_ADMIN_TOKEN]
const tally = createTally()

interface Ctx { app: FastifyInstance, platform: FakeLti13Platform }

async function setup (t: Test): Promise<Ctx> {
  const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const { app } = await buildTestApp(t, { PUBLIC_URL, RATE_LIMIT_ENABLED: 'false' })
  const now = Date.now()
  await createLti13RegistrationsRepository(app.knex).insert({
    name: 'Fake Open edX', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now
  })
  return { app, platform }
}

type Params = Record<string, string | string[]>

function encode (params: Params): string {
  const q = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) for (const v of Array.isArray(value) ? value : [value]) q.append(name, v)
  return q.toString()
}

async function login (app: FastifyInstance, params: Params, method: 'GET' | 'POST', headers: Record<string, string> = {}): Promise<InjectAnswer> {
  tally.add()
  return method === 'GET'
    ? await app.inject({ method: 'GET', url: `/lti/1.3/login?${encode(params)}`, headers: { accept: 'text/html', ...headers } })
    : await app.inject({ method: 'POST', url: '/lti/1.3/login', payload: encode(params), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers } })
}

const LOGIN_CODES = ['LTI13_LOGIN_MISSING_PARAM', 'LTI13_LOGIN_INVALID_PARAM', 'LTI13_UNKNOWN_REGISTRATION', 'LTI13_AMBIGUOUS_REGISTRATION', 'LTI13_BAD_TARGET_LINK_URI']

/**
 * Why a login answer is wrong (undefined when right): a redirect must go to the platform's auth
 * endpoint with our redirect_uri and store one state; a refusal must carry a login code, no
 * cookie, and store nothing. `target`: the target_link_uri sent, to check what was kept.
 */
async function wrongLogin (ctx: Ctx, res: InjectAnswer, statesBefore: number, target: unknown): Promise<string | undefined> {
  const unsafe = unsafeAnswer(res, SECRETS)
  if (unsafe !== undefined) return unsafe
  const states = (await countRows(ctx.app.knex, ['oidc_states'])).oidc_states as number
  const cookies = ([] as unknown[]).concat(res.headers['set-cookie'] ?? []).map(String)
  if (res.statusCode === 302 || res.statusCode === 200) {
    if (states !== statesBefore + 1) return `accepted login stored ${states - statesBefore} states`
    if (cookies.length !== 1 || !/^__Host-lti13_[A-Za-z0-9_-]+=[A-Za-z0-9_-]+; Max-Age=\d+; Path=\/; Secure; HttpOnly; SameSite=None; Partitioned$/.test(cookies[0] as string)) return `unexpected cookies ${JSON.stringify(cookies)}`
    if (typeof target !== 'string' || new URL(target).origin !== PUBLIC_URL) return `accepted a target_link_uri off our origin: ${JSON.stringify(target)}`
    const saved = await ctx.app.knex('oidc_states').orderBy('id', 'desc').first()
    if (new URL(saved.target_link_uri).origin !== PUBLIC_URL) return `stored target ${saved.target_link_uri}`
    if (res.statusCode === 302) {
      const location = new URL(String(res.headers.location))
      if (location.origin + location.pathname !== ctx.platform.authLoginUrl) return `redirect to ${location.href}`
      if (location.searchParams.get('redirect_uri') !== `${PUBLIC_URL}/lti/1.3/launch`) return `redirect_uri ${String(location.searchParams.get('redirect_uri'))}`
    }
    return undefined
  }
  const code = refusalCode(res)
  if (code === undefined || !LOGIN_CODES.includes(code) || ![400, 403].includes(res.statusCode)) return `unexpected answer ${res.statusCode} ${String(code)}`
  if (cookies.length > 0) return 'refusal set a cookie'
  if (res.headers.location !== undefined) return 'refusal redirected'
  if (states !== statesBefore) return `refusal stored ${states - statesBefore} states`
  return undefined
}

const anyUnit = fc.integer({ min: 0, max: 0xffff }).map(c => String.fromCharCode(c))
const hostileText = fc.oneof(fc.string({ unit: anyUnit, maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom(...HOSTILE_STRINGS))

/** Open-redirect and origin-confusion attempts at target_link_uri. */
const EVIL_TARGETS = [
  'javascript:alert(1)', 'JaVaScRiPt:alert(document.domain)//https://tool.example.org/lti/1.3/courses/x/y', 'data:text/html,<script>alert(1)</script>',
  '//evil.example/lti/1.3/courses/a/b', '///evil.example/', '/\\evil.example/', '\\\\evil.example\\lti', 'https:evil.example',
  'https://tool.example.org.evil.example/lti/1.3/courses/a/b', 'https://tool.example.org@evil.example/lti/1.3/courses/a/b',
  'https://tool.example.org%40evil.example/', 'https://evil.example\\@tool.example.org/lti/1.3/launch', 'https://evil.example#@tool.example.org/lti/1.3/launch',
  'https://evil.example?@tool.example.org/', 'http://tool.example.org/lti/1.3/launch', 'https://tool.example.org:8443/lti/1.3/launch',
  'https://TOOL.EXAMPLE.ORG/lti/1.3/launch', 'https://tool.example.org./lti/1.3/launch', 'https://xn--tool-example-org.evil/', 'https://tool.example.org\u3002evil.example/',
  'https://evil.example/?next=https://tool.example.org/lti/1.3/launch', `${PUBLIC_URL}/lti/1.3/courses/%2F%2Fevil.example/x`,
  `${PUBLIC_URL}/lti/1.3/courses/..%2F..%2Fadmin/x`, `${PUBLIC_URL}/lti/1.3/../../admin/api/v1/keys`, `${PUBLIC_URL}/lti/1.3/launch\r\nLocation: https://evil.example/`,
  `${PUBLIC_URL}/lti/1.3/launch`, TARGET, `${TARGET}?x=1`, `${TARGET}#frag`, ' ' + TARGET, TARGET + ' '
]

t.test('OIDC login under hostile input', async t => {
  const ctx = await setup(t)
  const { app, platform } = ctx
  const valid = (): Record<string, string> => ({
    iss: platform.issuer, client_id: platform.clientId, login_hint: 'learner-1', target_link_uri: TARGET, lti_message_hint: 'hint-1', lti_deployment_id: platform.deploymentId
  })
  const statesNow = async (): Promise<number> => (await countRows(app.knex, ['oidc_states'])).oidc_states as number

  await t.test('each parameter hostile, missing or repeated, GET and POST: redirect to the platform or a login refusal', async t => {
    const names = ['iss', 'client_id', 'login_hint', 'target_link_uri', 'lti_message_hint', 'lti_deployment_id', 'lti_storage_target'] as const
    const change = fc.record({
      name: fc.constantFrom(...names),
      value: fc.oneof(hostileText, fc.constant(undefined), fc.array(fc.constantFrom('a', TARGET, platform.issuer, ''), { minLength: 2, maxLength: 3 }), fc.string({ minLength: 1000, maxLength: 5000 }))
    })
    await fc.assert(fc.asyncProperty(fc.array(change, { minLength: 1, maxLength: 4 }), fc.constantFrom('GET' as const, 'POST' as const), async (changes, method) => {
      const params: Params = valid()
      for (const { name, value } of changes) {
        if (value === undefined) delete params[name]
        else params[name] = value
      }
      const before = await statesNow()
      const failure = await wrongLogin(ctx, await login(app, params, method), before, params.target_link_uri)
      if (failure !== undefined) throw new Error(`${method} ${JSON.stringify(params).slice(0, 400)}: ${failure}`)
    }), { numRuns: 250 })
    t.pass('250 hostile logins')
  })

  await t.test('open redirect through target_link_uri: never a redirect anywhere but the platform, never a foreign target kept', async t => {
    const target = fc.oneof(
      fc.constantFrom(...EVIL_TARGETS),
      fc.tuple(fc.constantFrom(...EVIL_TARGETS), hostileText).map(([a, b]) => a + b),
      fc.webUrl({ withQueryParameters: true, withFragments: true })
    )
    await fc.assert(fc.asyncProperty(target, fc.constantFrom('GET' as const, 'POST' as const), async (targetLinkUri, method) => {
      const before = await statesNow()
      const res = await login(app, { ...valid(), target_link_uri: targetLinkUri }, method)
      const failure = await wrongLogin(ctx, res, before, targetLinkUri)
      if (failure !== undefined) throw new Error(`${JSON.stringify(targetLinkUri)}: ${failure}`)
      if (res.statusCode !== 302 && refusalCode(res) !== 'LTI13_BAD_TARGET_LINK_URI' && refusalCode(res) !== 'LTI13_LOGIN_INVALID_PARAM') throw new Error(`${JSON.stringify(targetLinkUri)}: refused with ${String(refusalCode(res))}`)
    }), { numRuns: 200 })
    t.pass('200 redirect attempts')
  })

  await t.test('CR/LF and header syntax in every reflected parameter: never in a header, Location stays on the platform', async t => {
    const injection = fc.constantFrom('\r\nSet-Cookie: pwned=1', '\r\nLocation: https://evil.example/', '\nX-Evil: 1', '%0d%0aSet-Cookie:%20a=b', '\u0000', '\u2028', '"; Domain=evil.example', '; Path=/; Domain=.example.org')
    await fc.assert(fc.asyncProperty(fc.constantFrom('login_hint', 'lti_message_hint', 'client_id', 'iss', 'lti_deployment_id', 'lti_storage_target'), injection, fc.constantFrom('GET' as const, 'POST' as const), async (name, value, method) => {
      const before = await statesNow()
      const params = { ...valid(), [name]: (name === 'login_hint' || name === 'lti_message_hint' ? 'x' : valid()[name] ?? '') + value }
      const res = await login(app, params, method)
      const failure = await wrongLogin(ctx, res, before, params.target_link_uri)
      if (failure !== undefined) throw new Error(`${name}=${JSON.stringify(value)}: ${failure}`)
      if (res.statusCode === 302) {
        // Reflected only as percent-encoded query values of the platform's URL.
        const echoed = new URL(String(res.headers.location)).searchParams.get(name === 'login_hint' ? 'login_hint' : 'lti_message_hint')
        if (name === 'login_hint' || name === 'lti_message_hint') {
          if (echoed !== params[name]) throw new Error(`${name} not echoed byte for byte`)
        }
      }
    }), { numRuns: 120 })
    t.pass('120 header injection attempts')
  })

  await t.test('Host and X-Forwarded-* headers never change the URLs the tool builds', async t => {
    const evilHost = fc.constantFrom('evil.example', 'evil.example:443', 'tool.example.org.evil.example', 'tool.example.org@evil.example', 'localhost', '127.0.0.1', '[::1]', 'evil.example\r\nX-Evil: 1', 'a'.repeat(300))
    const forwarded = fc.record({
      host: evilHost,
      'x-forwarded-host': evilHost,
      'x-forwarded-proto': fc.constantFrom('http', 'https', 'javascript'),
      'x-forwarded-for': fc.constantFrom('1.2.3.4', '127.0.0.1, 10.0.0.1'),
      forwarded: fc.constantFrom('host=evil.example;proto=http', 'for=1.2.3.4')
    }, { requiredKeys: ['host'] })
    await fc.assert(fc.asyncProperty(forwarded, async headers => {
      const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => !/[\r\n]/.test(v))) as Record<string, string>
      const before = await statesNow()
      const res = await login(app, valid(), 'GET', clean)
      const failure = await wrongLogin(ctx, res, before, TARGET)
      if (failure !== undefined) throw new Error(failure)
      if (res.statusCode !== 302) throw new Error(`a good login refused under ${JSON.stringify(clean)}: ${res.statusCode}`)
      tally.add()
      const jwks = await app.inject({ method: 'GET', url: '/lti/1.3/jwks', headers: clean })
      if (jwks.statusCode !== 200 || /evil|localhost|127\.0\.0\.1/.test(jwks.body)) throw new Error(`JWKS ${jwks.statusCode}: ${jwks.body.slice(0, 200)}`)
      tally.add()
      const reg = await app.inject({ method: 'GET', url: '/admin/api/v1/lti13/registrations', headers: { ...adminHeaders, ...clean } })
      const tool = reg.json().registrations[0]?.tool as Record<string, string>
      if (Object.values(tool).some(url => !url.startsWith(`${PUBLIC_URL}/`))) throw new Error(`tool URLs from the request: ${JSON.stringify(tool)}`)
    }), { numRuns: 60 })
    t.pass('60 header sets × 3 routes')
  })

  await t.test('LTI 1.1: a launch signed for the URL an attacker\'s Host names is refused (the base string uses PUBLIC_URL)', async t => {
    const now = Date.now()
    await createLti11ConsumersRepository(app.knex).insert({
      name: 'c', consumerKey: 'c', secretEnc: app.secretBox.seal('c-secret', CONSUMER_SECRET_CONTEXT), instanceGuid: null, contentScope: ['*'], usePii: false,
      requireUserAccount: false, outcomeHosts: [], pinOutcomeHost: false, signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
    })
    const path = `/lti_provider/courses/${DEMO_COURSE_ID}/${PROBLEM}`
    await fc.assert(fc.asyncProperty(fc.constantFrom('evil.example', 'tool.example.org:8443', 'localhost:3000'), fc.constantFrom('http', 'https'), async (host, proto) => {
      const body = signLaunchWithImsLti(`${proto}://${host}${path}`, 'c', 'c-secret', { lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'r', user_id: 'u', roles: '', context_id: 'c' }).body
      tally.add()
      const res = await app.inject({ method: 'POST', url: path, payload: body, headers: { host, 'x-forwarded-host': host, 'x-forwarded-proto': proto, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
      if (res.statusCode !== 401 || refusalCode(res) !== 'LTI11_BAD_SIGNATURE') throw new Error(`${proto}://${host}: ${res.statusCode} ${String(refusalCode(res))}`)
    }), { numRuns: 12 })
    t.equal((await countRows(app.knex, ['oauth_nonces'])).oauth_nonces, 0, 'no nonce kept')
  })

  await t.test('huge headers on a real socket: refused by the HTTP parser (431), the server keeps serving', async t => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
    await fc.assert(fc.asyncProperty(fc.integer({ min: 17_000, max: 200_000 }), fc.constantFrom('cookie', 'x-junk', 'authorization', 'referer'), async (size, name) => {
      tally.add()
      const res = await fetch(`${base}/lti/1.3/login?${encode(valid())}`, { headers: { [name]: 'a'.repeat(size) }, redirect: 'manual', signal: AbortSignal.timeout(5000) }).catch((err: Error) => err)
      // Node answers 431 and closes; some sizes reset the socket before fetch reads the answer.
      if (!(res instanceof Error) && res.status !== 431) throw new Error(`${name} of ${size} bytes: ${res.status}`)
    }), { numRuns: 12 })
    const ok = await fetch(`${base}/lti/1.3/login?${encode(valid())}`, { redirect: 'manual' })
    t.equal(ok.status, 302, 'a normal login still works')
  })

  t.comment(`hostile OIDC login / header requests sent: ${tally.total}`)
})
