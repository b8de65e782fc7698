import t from 'tap'
import { createHash } from 'node:crypto'
import { SignJWT, decodeProtectedHeader } from 'jose'
import { buildAuthRequestUrl, readLoginParams, startOidcLogin, type OidcLoginDeps } from '../../../src/lti/v13/oidc-login.js'
import { deriveStateKey, verifyStateToken } from '../../../src/lti/v13/state-token.js'
import type { Lti13Registration } from '../../../src/lti/v13/registration.js'
import { createMemoryDeployments, createMemoryStateStore } from '../../support/fake-lti13-platform.js'

const PUBLIC_URL = 'https://tool.example.test'
const ISS = 'https://lms.example.test'
const TARGET = `${PUBLIC_URL}/lti/1.3/courses/course-v1:A+B+C/block-v1:A+B+C+type@problem+block@p1`
const NOW = 1_700_000_000_000

function reg (id: number, clientId: string, extra: Partial<Lti13Registration> = {}): Lti13Registration {
  return { id, issuer: ISS, clientId, authLoginUrl: `${ISS}/api/lti_consumer/v1/launch/`, jwksUrl: `${ISS}/jwks`, deploymentPolicy: 'strict', ...extra }
}

function deps (registrations: Lti13Registration[], deployments: Array<[number, string]> = []): OidcLoginDeps & { stateStore: ReturnType<typeof createMemoryStateStore> } {
  return {
    // Deliberately ignores clientId: the core must filter by itself.
    findRegistrations: async (iss) => registrations.filter(r => r.issuer === iss),
    deployments: createMemoryDeployments(deployments),
    stateStore: createMemoryStateStore(),
    stateKey: deriveStateKey('login-test-secret'),
    publicUrl: PUBLIC_URL,
    now: () => NOW
  }
}

const params = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISS, login_hint: '42', target_link_uri: TARGET, client_id: 'client-a', lti_deployment_id: '1', ...extra
})

t.test('the authentication request carries exactly the OIDC parameters', async t => {
  const d = deps([reg(1, 'client-a')])
  const hint = 'cache key with spaces, + plus, %25 percent & ünïcode'
  const r = await startOidcLogin(params({ lti_message_hint: hint }), d)
  const url = new URL(r.redirectUrl)
  t.equal(url.origin + url.pathname, `${ISS}/api/lti_consumer/v1/launch/`)
  t.same(Object.fromEntries(url.searchParams), {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: 'client-a',
    redirect_uri: `${PUBLIC_URL}/lti/1.3/launch`,
    login_hint: '42',
    state: r.state,
    nonce: r.nonce,
    lti_message_hint: hint
  })
  t.equal(url.searchParams.get('lti_message_hint'), hint, 'lti_message_hint echoed unchanged')
  t.equal(r.registration.id, 1)

  const noHint = await startOidcLogin(params(), d)
  t.notOk(new URL(noHint.redirectUrl).searchParams.has('lti_message_hint'), 'not invented when absent')
})

t.test('state: HS256 JWS with a random id; nonce and binding random; server-side record', async t => {
  const d = deps([reg(1, 'client-a')])
  const a = await startOidcLogin(params(), d)
  const b = await startOidcLogin(params(), d)
  t.same(decodeProtectedHeader(a.state), { alg: 'HS256', typ: 'JWT' })
  const claims = await verifyStateToken(a.state, d.stateKey, { now: NOW })
  t.equal(claims.stateId, a.stateId)
  t.equal(claims.storageTarget, undefined)
  for (const value of [a.stateId, a.nonce, a.binding]) {
    t.ok(Buffer.from(value, 'base64url').length >= 16, 'at least 128 bits')
  }
  t.not(a.nonce, b.nonce)
  t.not(a.stateId, b.stateId)
  t.not(a.binding, b.binding)
  t.notOk(a.state.includes(a.nonce), 'the nonce is not in the state')
  const record = d.stateStore.records.get(a.stateId)
  t.same(record, {
    stateId: a.stateId,
    nonce: a.nonce,
    registrationId: 1,
    bindingHash: createHash('sha256').update(a.binding).digest('base64url'),
    targetLinkUri: TARGET,
    expiresAt: new Date(NOW + 600_000)
  })
  t.notOk(JSON.stringify(record).includes(a.binding), 'the binding itself is not stored')
})

t.test('state token: expiry, key and purpose', async t => {
  const key = deriveStateKey('s1')
  t.same(deriveStateKey('s1'), key, 'derivation is deterministic')
  t.notSame(deriveStateKey('s2'), key)
  t.throws(() => deriveStateKey(''))
  const d = { ...deps([reg(1, 'client-a')]), stateKey: key, stateTtlSeconds: 60 }
  const r = await startOidcLogin(params(), d)
  t.ok(await verifyStateToken(r.state, key, { now: NOW + 59_000 }))
  await t.rejects(verifyStateToken(r.state, key, { now: NOW + 60_000 }), { code: 'LTI13_STATE_EXPIRED' })
  await t.rejects(verifyStateToken(r.state, deriveStateKey('s2'), { now: NOW }), { code: 'LTI13_STATE_INVALID' })
  // Same key, other purpose (no audience): not a state.
  const other = await new SignJWT({ sid: 'x'.repeat(43) }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(NOW / 1000).setExpirationTime(NOW / 1000 + 60).sign(key)
  await t.rejects(verifyStateToken(other, key, { now: NOW }), { code: 'LTI13_STATE_INVALID' })
  await t.rejects(verifyStateToken('x'.repeat(3000), key, { now: NOW }), { code: 'LTI13_STATE_INVALID' })
})

t.test('login parameters', async t => {
  for (const name of ['iss', 'login_hint', 'target_link_uri']) {
    t.throws(() => readLoginParams(params({ [name]: undefined })), { code: 'LTI13_LOGIN_MISSING_PARAM', details: { param: name } })
    t.throws(() => readLoginParams(params({ [name]: '' })), { code: 'LTI13_LOGIN_MISSING_PARAM' })
  }
  t.throws(() => readLoginParams(params({ iss: [ISS, ISS] })), { code: 'LTI13_LOGIN_INVALID_PARAM', details: { param: 'iss' } }, 'a repeated parameter')
  t.throws(() => readLoginParams(params({ lti_message_hint: 'x'.repeat(4097) })), { code: 'LTI13_LOGIN_INVALID_PARAM' })
  t.throws(() => readLoginParams(params({ lti_storage_target: 'two words' })), { code: 'LTI13_LOGIN_INVALID_PARAM' })
  t.same(readLoginParams({ iss: ISS, login_hint: 'h', target_link_uri: TARGET }), {
    iss: ISS, loginHint: 'h', targetLinkUri: TARGET, ltiMessageHint: undefined, clientId: undefined, ltiDeploymentId: undefined, ltiStorageTarget: undefined
  }, 'optional parameters may be absent')
})

t.test('target_link_uri must be ours before anything is saved', async t => {
  const d = deps([reg(1, 'client-a')])
  await t.rejects(startOidcLogin(params({ target_link_uri: 'https://evil.example.test/lti/1.3/launch' }), d), { code: 'LTI13_BAD_TARGET_LINK_URI' })
  await t.rejects(startOidcLogin(params({ target_link_uri: `${PUBLIC_URL}/health` }), d), { code: 'LTI13_BAD_TARGET_LINK_URI' })
  t.equal(d.stateStore.records.size, 0)
})

t.test('registration resolution', async t => {
  const one = deps([reg(1, 'client-a')])
  await t.rejects(startOidcLogin(params({ iss: 'https://unknown.example.test' }), one), { code: 'LTI13_UNKNOWN_REGISTRATION', status: 403 })
  await t.rejects(startOidcLogin(params({ client_id: 'client-z' }), one), { code: 'LTI13_UNKNOWN_REGISTRATION' })
  t.equal((await startOidcLogin(params({ client_id: undefined }), one)).registration.id, 1, 'one client: client_id optional')

  const inactive = deps([reg(1, 'client-a', { active: false })])
  await t.rejects(startOidcLogin(params(), inactive), { code: 'LTI13_REGISTRATION_INACTIVE' })

  const several = deps([reg(1, 'client-a'), reg(2, 'client-b')], [[1, 'dep-a'], [2, 'dep-b'], [1, 'shared'], [2, 'shared']])
  t.equal((await startOidcLogin(params({ client_id: 'client-b' }), several)).registration.id, 2, 'client_id picks')
  await t.rejects(startOidcLogin(params({ client_id: undefined, lti_deployment_id: undefined }), several), { code: 'LTI13_AMBIGUOUS_REGISTRATION', status: 400 })
  t.equal((await startOidcLogin(params({ client_id: undefined, lti_deployment_id: 'dep-b' }), several)).registration.id, 2, 'deployment picks')
  await t.rejects(startOidcLogin(params({ client_id: undefined, lti_deployment_id: 'shared' }), several), { code: 'LTI13_AMBIGUOUS_REGISTRATION' })
  await t.rejects(startOidcLogin(params({ client_id: undefined, lti_deployment_id: 'nobody' }), several), { code: 'LTI13_AMBIGUOUS_REGISTRATION' })
  t.equal(several.stateStore.records.size, 2, 'failed logins save nothing')
})

t.test('platform storage target is carried in the signed state', async t => {
  const d = deps([reg(1, 'client-a', { authLoginUrl: 'https://auth.lms.example.test:8443/oidc?tenant=7' })])
  const r = await startOidcLogin(params({ lti_storage_target: 'post_message_forwarding' }), d)
  t.same(r.platformStorage, { frame: 'post_message_forwarding', targetOrigin: 'https://auth.lms.example.test:8443' })
  const claims = await verifyStateToken(r.state, d.stateKey, { now: NOW })
  t.equal(claims.storageTarget, 'post_message_forwarding')
  t.equal(claims.platformOrigin, 'https://auth.lms.example.test:8443')
  t.equal(new URL(r.redirectUrl).searchParams.get('tenant'), '7', "the endpoint's own query is kept")
})

t.test('buildAuthRequestUrl overrides, never duplicates, OIDC parameters already on the endpoint', async t => {
  const url = new URL(buildAuthRequestUrl({
    authLoginUrl: 'https://lms.example.test/auth?prompt=login&scope=email',
    clientId: 'c', redirectUri: 'https://tool/cb', loginHint: 'h', state: 's', nonce: 'n'
  }))
  t.same(url.searchParams.getAll('prompt'), ['none'])
  t.same(url.searchParams.getAll('scope'), ['openid'])
})
