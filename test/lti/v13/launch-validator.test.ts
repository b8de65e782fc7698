/**
 * Every refusal of the id_token pipeline, with a hostile token or request for each, and the order
 * in which the steps run (a token failing several steps reports the earliest one).
 */
import t from 'tap'
import { SignJWT, generateKeyPair, exportJWK } from 'jose'
import { validateLaunch } from '../../../src/lti/v13/launch-validator.js'
import { startOidcLogin } from '../../../src/lti/v13/oidc-login.js'
import { signStateToken, deriveStateKey } from '../../../src/lti/v13/state-token.js'
import { LtiClaim, MessageType } from '../../../src/lti/claims.js'
import type { Lti13Registration } from '../../../src/lti/v13/registration.js'
import {
  createToolHarness, startFakeLti13Platform, type FakeLaunch, type MintOptions, type ToolHarness
} from '../../support/fake-lti13-platform.js'

const PUBLIC_URL = 'https://tool.example.test'
const COURSE = 'course-v1:MITx+6.002x+2024_T1'
const USAGE = 'block-v1:MITx+6.002x+2024_T1+type@problem+block@9f1c'

const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
t.teardown(() => platform.close())

interface Attempt {
  binding?: string | null
  state?: unknown
  idToken?: unknown
  launch?: FakeLaunch
}

function harness (registration: Partial<Lti13Registration> = {}): ToolHarness & {
  launch: FakeLaunch
  attempt: (mint?: MintOptions, opts?: Attempt) => ReturnType<typeof validateLaunch>
} {
  const tool = createToolHarness(platform, { publicUrl: PUBLIC_URL, registration })
  const launch: FakeLaunch = { userId: 'learner-7', targetLinkUri: tool.contentUrl(COURSE, USAGE) }
  return {
    ...tool,
    launch,
    async attempt (mint = {}, opts = {}) {
      const login = await startOidcLogin(platform.loginInitiation(opts.launch ?? launch), tool.loginDeps)
      const idToken = 'idToken' in opts ? opts.idToken : await platform.mintIdToken({ launch: opts.launch ?? launch, nonce: login.nonce, ...mint })
      return await validateLaunch({
        idToken,
        state: 'state' in opts ? opts.state : login.state,
        binding: opts.binding === null ? undefined : opts.binding ?? login.binding
      }, tool.launchDeps)
    }
  }
}

t.test('baseline: the default attempt succeeds', async t => {
  const h = harness()
  const launch = await h.attempt()
  t.equal(launch.sub, 'learner-7')
})

t.test('1. state: claims the adapter verified are reused only for that exact state string', async t => {
  const h = harness()
  const login = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const idToken = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce })
  // Claims "verified" for another string (here: a forged state id) are ignored: the state is verified itself.
  const forgedClaims = { stateId: 'x'.repeat(30) }
  const launch = await validateLaunch({ idToken, state: login.state, binding: login.binding, verifiedState: { token: `${login.state}x`, claims: forgedClaims } }, h.launchDeps)
  t.equal(launch.sub, 'learner-7', 'a mismatching verifiedState does not change the outcome')
  // For the same string, the given claims are used (so the adapter must pass only what it verified):
  // here they name a state id that was never stored, and the launch is a replay.
  const login2 = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const idToken2 = await platform.mintIdToken({ launch: h.launch, nonce: login2.nonce })
  await t.rejects(validateLaunch({ idToken: idToken2, state: login2.state, binding: login2.binding, verifiedState: { token: login2.state, claims: forgedClaims } }, h.launchDeps),
    { code: 'LTI13_STATE_REPLAYED' })
})

t.test('1. state', async t => {
  const h = harness()
  await t.rejects(h.attempt({}, { state: undefined }), { code: 'LTI13_STATE_MISSING', status: 400 })
  await t.rejects(h.attempt({}, { state: '' }), { code: 'LTI13_STATE_MISSING' })
  await t.rejects(h.attempt({}, { state: 'not-a-jws' }), { code: 'LTI13_STATE_INVALID' })
  await t.rejects(h.attempt({}, { state: ['a', 'b'] }), { code: 'LTI13_STATE_MISSING' }, 'a repeated field is not a state')

  const foreign = await signStateToken({ stateId: 'x'.repeat(43) }, deriveStateKey('another secret'), { now: Date.now(), ttlSeconds: 600 })
  await t.rejects(h.attempt({}, { state: foreign }), { code: 'LTI13_STATE_INVALID' }, 'signed with another key')

  const login = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const [head, body, sig] = login.state.split('.') as [string, string, string]
  const flipped = sig.slice(0, -2) + (sig.endsWith('AA') ? 'BA' : 'AA')
  const idToken = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce })
  await t.rejects(validateLaunch({ idToken, state: `${head}.${body}.${flipped}`, binding: login.binding }, h.launchDeps), { code: 'LTI13_STATE_INVALID' })

  // An HS256 state with alg swapped to none keeps its claims but loses its MAC.
  const noneState = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`
  await t.rejects(validateLaunch({ idToken, state: noneState, binding: login.binding }, h.launchDeps), { code: 'LTI13_STATE_INVALID' })
})

t.test('1. state: expiry of the JWS and of the stored record', async t => {
  const h = harness()
  const login = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const idToken = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce })
  h.clock.offsetMs = 601_000
  await t.rejects(validateLaunch({ idToken, state: login.state, binding: login.binding }, h.launchDeps), { code: 'LTI13_STATE_EXPIRED' })
  h.clock.offsetMs = 0

  const login2 = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const record = h.stateStore.records.get(login2.stateId)
  t.ok(record, 'record saved under the state id')
  if (record) record.expiresAt = new Date(Date.now() - 1000)
  const idToken2 = await platform.mintIdToken({ launch: h.launch, nonce: login2.nonce })
  await t.rejects(validateLaunch({ idToken: idToken2, state: login2.state, binding: login2.binding }, h.launchDeps), { code: 'LTI13_STATE_EXPIRED' })
})

t.test('1. state: bound to the browser, consumed once', async t => {
  const h = harness()
  const login = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const idToken = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce })
  const input = { idToken, state: login.state }

  await t.rejects(validateLaunch({ ...input, binding: undefined }, h.launchDeps), { code: 'LTI13_STATE_WRONG_BROWSER', status: 403 })
  t.equal(h.stateStore.records.size, 1, 'no binding offered: the state is not burnt (the adapter may still recover it)')

  await t.rejects(validateLaunch({ ...input, binding: 'attacker-browser-binding' }, h.launchDeps), { code: 'LTI13_STATE_WRONG_BROWSER' })
  t.equal(h.stateStore.records.size, 0, 'a wrong binding consumes the state')
  await t.rejects(validateLaunch({ ...input, binding: login.binding }, h.launchDeps), { code: 'LTI13_STATE_REPLAYED' },
    'and the rightful browser cannot use it afterwards: one attempt per login')

  // Concurrent replays of one valid launch: exactly one wins.
  const login2 = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const idToken2 = await platform.mintIdToken({ launch: h.launch, nonce: login2.nonce })
  const results = await Promise.allSettled(Array.from({ length: 5 }, () =>
    validateLaunch({ idToken: idToken2, state: login2.state, binding: login2.binding }, h.launchDeps)))
  t.equal(results.filter(r => r.status === 'fulfilled').length, 1)
  t.ok(results.filter(r => r.status === 'rejected').every(r => (r as PromiseRejectedResult).reason.code === 'LTI13_STATE_REPLAYED'))
})

t.test('2. JWT format', async t => {
  const h = harness()
  await t.rejects(h.attempt({}, { idToken: undefined }), { code: 'LTI13_TOKEN_MISSING' })
  await t.rejects(h.attempt({}, { idToken: 'abc' }), { code: 'LTI13_TOKEN_MALFORMED' })
  await t.rejects(h.attempt({}, { idToken: 'a.b.c.d' }), { code: 'LTI13_TOKEN_MALFORMED' })
  await t.rejects(h.attempt({}, { idToken: 'e30.bm90LWpzb24.c2ln' }), { code: 'LTI13_TOKEN_MALFORMED' }, 'payload is not JSON')
  await t.rejects(h.attempt({}, { idToken: 'a'.repeat(100_001) + '.e30.' }), { code: 'LTI13_TOKEN_MALFORMED' })
  await t.rejects(h.attempt({ tamperHeader: { crit: ['exp'] } }), { code: 'LTI13_TOKEN_MALFORMED' }, 'crit header')
  await t.rejects(h.attempt({ tamperHeader: { b64: false } }), { code: 'LTI13_TOKEN_MALFORMED' }, 'b64 header')
  const jsonArrayPayload = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('[1]').toString('base64url')}.c2ln`
  await t.rejects(h.attempt({}, { idToken: jsonArrayPayload }), { code: 'LTI13_TOKEN_MALFORMED' })
})

t.test('3. registration', async t => {
  const h = harness()
  await t.rejects(h.attempt({ claims: { aud: 'some-other-tool', azp: undefined } }), { code: 'LTI13_UNKNOWN_REGISTRATION' })
  await t.rejects(h.attempt({ claims: { iss: 'https://other-platform.example.test' } }), { code: 'LTI13_UNKNOWN_REGISTRATION' })
  await t.rejects(h.attempt({ claims: { iss: undefined } }), { code: 'LTI13_MISSING_CLAIM' })
  await t.rejects(h.attempt({ claims: { aud: 42 } }), { code: 'LTI13_INVALID_CLAIM' })

  // The login was for registration 1; the token is addressed to registration 2 of the same issuer.
  h.registrations.push({ ...platform.registration(), id: 2, clientId: 'second-client' })
  await t.rejects(h.attempt({ claims: { aud: 'second-client', azp: 'second-client' } }), { code: 'LTI13_REGISTRATION_MISMATCH' })

  const login = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const idToken = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce })
  ;(h.registrations[0] as Lti13Registration).active = false
  await t.rejects(validateLaunch({ idToken, state: login.state, binding: login.binding }, h.launchDeps), { code: 'LTI13_REGISTRATION_INACTIVE' },
    'deactivated between login and launch')
})

t.test('4. signature: algorithms come from the registration, never the header', async t => {
  const h = harness()
  await t.rejects(h.attempt({ signing: 'none' }), { code: 'LTI13_ALG_NOT_ALLOWED', status: 401 }, 'alg none')
  await t.rejects(h.attempt({ signing: 'hs256-public-key' }), { code: 'LTI13_ALG_NOT_ALLOWED' }, 'HS256 keyed with the public key')
  await t.rejects(h.attempt({ alg: 'RS512' }), { code: 'LTI13_ALG_NOT_ALLOWED' }, 'RS512 when only RS256 is allowed')
  await t.rejects(h.attempt({ tamperHeader: { alg: 'ES256' } }), { code: 'LTI13_ALG_NOT_ALLOWED' }, 'header alg lies about the signature')

  const hs = harness({ algorithms: ['HS256' as never, 'RS256'] })
  await t.rejects(hs.attempt({ signing: 'hs256-public-key' }), { code: 'LTI13_ALG_NOT_ALLOWED' }, 'HS* is dropped even if stored in a registration')

  const rs512only = harness({ algorithms: ['RS512'] })
  await t.rejects(rs512only.attempt(), { code: 'LTI13_ALG_NOT_ALLOWED' }, 'RS256 token, registration allows RS512 only')
})

t.test('4. signature: keys only from the registered JWKS, by kid', async t => {
  const h = harness()
  await t.rejects(h.attempt({ signing: 'foreign-key' }), { code: 'LTI13_BAD_SIGNATURE' }, 'right kid, wrong key')

  const login = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const good = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce })
  const [head, , sig] = good.split('.') as [string, string, string]
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(good.split('.')[1] as string, 'base64url').toString()), sub: 'admin' })).toString('base64url')
  await t.rejects(validateLaunch({ idToken: `${head}.${forged}.${sig}`, state: login.state, binding: login.binding }, h.launchDeps),
    { code: 'LTI13_BAD_SIGNATURE' }, 'payload changed after signing')

  await t.rejects(h.attempt({ header: { kid: 'no-such-kid' } }), { code: 'LTI13_UNKNOWN_KID' })

  // Attacker-supplied key locations in the header are ignored: their key server is never asked.
  const attacker = await startFakeLti13Platform({ redirectUris: [] })
  t.teardown(() => attacker.close())
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const attackerJwk = { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'RS256' }
  const login2 = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const mintAttacker = async (header: Record<string, unknown>): Promise<string> => await new SignJWT(
    { iss: platform.issuer, aud: platform.clientId, sub: 'admin', nonce: login2.nonce })
    .setProtectedHeader({ alg: 'RS256', ...header }).setIssuedAt().setExpirationTime('1h').sign(privateKey)
  await t.rejects(validateLaunch({ idToken: await mintAttacker({ kid: 'attacker', jku: attacker.jwksUrl }), state: login2.state, binding: login2.binding }, h.launchDeps),
    { code: 'LTI13_UNKNOWN_KID' }, 'jku header')
  t.equal(attacker.jwksRequests, 0, 'the jku URL was never fetched')

  for (const header of [{ kid: platform.kid, jwk: attackerJwk }, { kid: platform.kid, x5u: attacker.jwksUrl }]) {
    const login3 = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
    const token = await new SignJWT({ iss: platform.issuer, aud: platform.clientId, nonce: login3.nonce })
      .setProtectedHeader({ alg: 'RS256', ...header }).setIssuedAt().setExpirationTime('1h').sign(privateKey)
    await t.rejects(validateLaunch({ idToken: token, state: login3.state, binding: login3.binding }, h.launchDeps),
      { code: 'LTI13_BAD_SIGNATURE' }, `embedded ${Object.keys(header)[1]} header is not used`)
  }
  t.equal(attacker.jwksRequests, 0)
})

t.test('4. signature: JWKS unavailable', async t => {
  const h = harness()
  platform.faults.jwksDown = true
  t.teardown(() => { platform.faults.jwksDown = false })
  await t.rejects(h.attempt(), { code: 'LTI13_JWKS_UNAVAILABLE', status: 502 })
})

t.test('5. issuer, audience, azp', async t => {
  const h = harness()
  // A case-insensitive lookup (MySQL's default collation) must not widen the exact issuer rule.
  const loose = createToolHarness(platform, { publicUrl: PUBLIC_URL })
  loose.launchDeps.findRegistrations = async (iss) => loose.registrations.filter(r => r.issuer.toLowerCase() === iss.toLowerCase())
  const login = await startOidcLogin(platform.loginInitiation(h.launch), loose.loginDeps)
  const upper = platform.issuer.replace('http://', 'HTTP://')
  const idToken = await platform.mintIdToken({ launch: h.launch, nonce: login.nonce, claims: { iss: upper } })
  await t.rejects(validateLaunch({ idToken, state: login.state, binding: login.binding }, loose.launchDeps), { code: 'LTI13_WRONG_ISSUER' })

  await t.rejects(h.attempt({ claims: { aud: ['another-tool'], azp: platform.clientId } }), { code: 'LTI13_WRONG_AUDIENCE' })
  await t.rejects(h.attempt({ claims: { aud: [platform.clientId, 'another-tool'], azp: undefined } }), { code: 'LTI13_BAD_AZP' }, 'several audiences without azp')
  await t.rejects(h.attempt({ claims: { aud: platform.clientId, azp: 'another-tool' } }), { code: 'LTI13_BAD_AZP' }, 'azp names someone else')
  const ok = await h.attempt({ claims: { aud: [platform.clientId, 'another-tool'], azp: platform.clientId } })
  t.equal(ok.clientId, platform.clientId, 'several audiences with azp = our client_id')
  const noAzp = await h.attempt({ claims: { azp: undefined } })
  t.equal(noAzp.clientId, platform.clientId, 'one audience, no azp')
})

t.test('5. time: 60 s leeway, 5 min max age', async t => {
  const h = harness()
  const now = Math.floor(Date.now() / 1000)
  await t.rejects(h.attempt({ iat: now - 4000 }), { code: 'LTI13_TOKEN_EXPIRED' }, 'exp = iat + 3600 is past')
  await t.rejects(h.attempt({ claims: { exp: now - 61 } }), { code: 'LTI13_TOKEN_EXPIRED' })
  t.ok(await h.attempt({ claims: { exp: now - 30 } }), 'expired 30 s ago is within leeway')
  await t.rejects(h.attempt({ iat: now + 120 }), { code: 'LTI13_TOKEN_FROM_FUTURE' })
  t.ok(await h.attempt({ iat: now + 30 }), 'a platform clock 30 s ahead is tolerated')
  await t.rejects(h.attempt({ claims: { nbf: now + 300 } }), { code: 'LTI13_TOKEN_FROM_FUTURE' })
  await t.rejects(h.attempt({ iat: now - 400 }), { code: 'LTI13_TOKEN_TOO_OLD' })
  t.ok(await h.attempt({ iat: now - 330 }), '330 s old is within 300 s + leeway')
  await t.rejects(h.attempt({ claims: { exp: undefined } }), { code: 'LTI13_MISSING_CLAIM' })
  await t.rejects(h.attempt({ claims: { iat: 'yesterday' } }), { code: 'LTI13_INVALID_CLAIM' })

  const strict = harness({ clockLeewaySeconds: 0, maxTokenAgeSeconds: 60 })
  await t.rejects(strict.attempt({ iat: now - 90 }), { code: 'LTI13_TOKEN_TOO_OLD' }, 'per-registration max age')
})

t.test('6. nonce', async t => {
  const h = harness()
  await t.rejects(h.attempt({ nonce: 'a-nonce-from-another-login' }), { code: 'LTI13_NONCE_MISMATCH', status: 401 })
  await t.rejects(h.attempt({ nonce: undefined }), { code: 'LTI13_NONCE_MISMATCH' })

  // An id_token captured from one login cannot be paired with another login's state.
  const first = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const second = await startOidcLogin(platform.loginInitiation(h.launch), h.loginDeps)
  const tokenForFirst = await platform.mintIdToken({ launch: h.launch, nonce: first.nonce })
  await t.rejects(validateLaunch({ idToken: tokenForFirst, state: second.state, binding: second.binding }, h.launchDeps), { code: 'LTI13_NONCE_MISMATCH' })
})

t.test('7. deployment', async t => {
  const strict = harness()
  await t.rejects(strict.attempt({ claims: { [LtiClaim.deploymentId]: 'unlisted-deployment' } }), { code: 'LTI13_UNKNOWN_DEPLOYMENT', status: 403 })
  await t.rejects(strict.attempt({ claims: { [LtiClaim.deploymentId]: undefined } }), { code: 'LTI13_MISSING_CLAIM' })
  await t.rejects(strict.attempt({ claims: { [LtiClaim.deploymentId]: 'x'.repeat(256) } }), { code: 'LTI13_INVALID_CLAIM' })

  const record = harness({ deploymentPolicy: 'record' })
  const launch = await record.attempt({ claims: { [LtiClaim.deploymentId]: 'new-deployment' } })
  t.equal(launch.deploymentId, 'new-deployment')
  t.ok(record.deployments.entries.has('1\u0000new-deployment'), 'recorded')
})

t.test('8. message type and required claims', async t => {
  const h = harness()
  await t.rejects(h.attempt({ claims: { [LtiClaim.messageType]: 'LtiSubmissionReviewRequest' } }), { code: 'LTI13_BAD_MESSAGE_TYPE' })
  await t.rejects(h.attempt({ claims: { [LtiClaim.messageType]: undefined } }), { code: 'LTI13_BAD_MESSAGE_TYPE' })
  await t.rejects(h.attempt({ claims: { [LtiClaim.messageType]: MessageType.deepLinkingRequest } }), { code: 'LTI13_WRONG_MESSAGE_TARGET' })
  await t.rejects(h.attempt({ claims: { [LtiClaim.version]: '1.1' } }), { code: 'LTI13_BAD_VERSION' })
  await t.rejects(h.attempt({ claims: { [LtiClaim.version]: undefined } }), { code: 'LTI13_BAD_VERSION' })
  await t.rejects(h.attempt({ claims: { [LtiClaim.roles]: undefined } }), { code: 'LTI13_MISSING_CLAIM', details: { claim: 'roles' } })
  await t.rejects(h.attempt({ claims: { [LtiClaim.roles]: 'Learner' } }), { code: 'LTI13_INVALID_CLAIM', details: { claim: 'roles' } })
  t.same((await h.attempt({ claims: { [LtiClaim.roles]: [] } })).roles, [], 'an empty roles array is valid')
  await t.rejects(h.attempt({ claims: { [LtiClaim.resourceLink]: undefined } }), { code: 'LTI13_MISSING_CLAIM', details: { claim: 'resource_link' } })
  await t.rejects(h.attempt({ claims: { [LtiClaim.resourceLink]: { title: 'no id' } } }), { code: 'LTI13_MISSING_CLAIM', details: { claim: 'resource_link.id' } })
  await t.rejects(h.attempt({ claims: { [LtiClaim.targetLinkUri]: undefined } }), { code: 'LTI13_MISSING_CLAIM', details: { claim: 'target_link_uri' } })
  await t.rejects(h.attempt({ claims: { [LtiClaim.context]: { title: 'no id' } } }), { code: 'LTI13_MISSING_CLAIM', details: { claim: 'context.id' } })
})

t.test('8. target_link_uri must name our content and match the login', async t => {
  const h = harness()
  const ours = h.contentUrl(COURSE, USAGE)
  const hostile = [
    'https://evil.example.test/lti/1.3/courses/c/u',
    'http://tool.example.test/lti/1.3/courses/c/u',
    'https://tool.example.test:8443/lti/1.3/courses/c/u',
    'https://tool.example.test/admin/api/v1/keys',
    'https://tool.example.test/lti/1.3/courses/only-one-segment',
    'https://tool.example.test/lti/1.3/courses/a/b/c',
    'https://user:pw@tool.example.test/lti/1.3/courses/c/u',
    'javascript:alert(1)'
  ]
  for (const uri of hostile) {
    // Login and token agree, so only the "is it ours" rule can refuse.
    const launch = { ...h.launch, targetLinkUri: ours }
    const login = await startOidcLogin(platform.loginInitiation(launch), h.loginDeps)
    const idToken = await platform.mintIdToken({ launch, nonce: login.nonce, claims: { [LtiClaim.targetLinkUri]: uri } })
    await t.rejects(validateLaunch({ idToken, state: login.state, binding: login.binding }, h.launchDeps), { code: 'LTI13_BAD_TARGET_LINK_URI' }, uri)
  }
  await t.rejects(h.attempt({ claims: { [LtiClaim.targetLinkUri]: h.contentUrl(COURSE, 'block-v1:MITx+6.002x+2024_T1+type@problem+block@other') } }),
    { code: 'LTI13_BAD_TARGET_LINK_URI', details: { reason: 'differs from the login target_link_uri' } })

  const generic = { userId: 'u', targetLinkUri: `${PUBLIC_URL}/lti/1.3/launch` }
  await t.rejects(h.attempt({}, { launch: generic }), { code: 'LTI13_BAD_TARGET_LINK_URI' }, 'generic target without openedx_usage_key')
  const viaCustom = await h.attempt({}, { launch: { ...generic, custom: { openedx_usage_key: USAGE } } })
  t.equal(viaCustom.usageKey, USAGE)

  const encoded = await h.attempt({}, { launch: { ...h.launch, targetLinkUri: `${PUBLIC_URL}/lti/1.3/courses/course-v1%3AMITx%2B6.002x%2B2024_T1/${encodeURIComponent(USAGE)}` } })
  t.equal(encoded.courseKey, COURSE, 'percent-encoded keys are decoded')
  t.equal(encoded.usageKey, USAGE)
})

t.test('8. anonymous launches', async t => {
  const h = harness()
  await t.rejects(h.attempt({ claims: { sub: undefined } }), { code: 'LTI13_ANONYMOUS_NOT_ALLOWED', status: 403 })
  await t.rejects(h.attempt({ claims: { sub: '' } }), { code: 'LTI13_ANONYMOUS_NOT_ALLOWED' })
  await t.rejects(h.attempt({ claims: { sub: 12 } }), { code: 'LTI13_INVALID_CLAIM' })
  const anon = harness({ allowAnonymous: true })
  t.equal((await anon.attempt({ claims: { sub: undefined } })).sub, undefined)
})

t.test('steps run in order: the earliest failing step wins, no side effect before the nonce', async t => {
  const h = harness({ deploymentPolicy: 'record' })
  const now = Math.floor(Date.now() / 1000)
  const everythingWrong = { iat: now - 5000, nonce: 'wrong', claims: { [LtiClaim.deploymentId]: 'new', [LtiClaim.version]: '1.0' } }
  await t.rejects(h.attempt({ ...everythingWrong, signing: 'none' }), { code: 'LTI13_ALG_NOT_ALLOWED' })
  await t.rejects(h.attempt({ ...everythingWrong, signing: 'foreign-key' }), { code: 'LTI13_BAD_SIGNATURE' })
  await t.rejects(h.attempt(everythingWrong), { code: 'LTI13_TOKEN_EXPIRED' })
  await t.rejects(h.attempt({ ...everythingWrong, iat: now }), { code: 'LTI13_NONCE_MISMATCH' })
  t.notOk(h.deployments.entries.has('1\u0000new'), 'nothing recorded for a token that failed before the deployment step')
  await t.rejects(h.attempt({ claims: everythingWrong.claims }), { code: 'LTI13_BAD_VERSION' })
  t.ok(h.deployments.entries.has('1\u0000new'), 'deployment step ran before the message step')
  await t.rejects(h.attempt({ signing: 'none' }, { binding: 'wrong' }), { code: 'LTI13_STATE_WRONG_BROWSER' }, 'state before anything in the token')
})
