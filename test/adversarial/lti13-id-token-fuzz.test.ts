/**
 * Property-based hostile id_tokens at POST /lti/1.3/launch, each after a real login on our route
 * (so state, nonce and the binding cookie are valid and the token is what is under test): random
 * JWT-shaped strings, a good token with one segment mutated, deep JSON, huge claims, every required
 * claim with a wrong type, and the JWT attacks (alg none, HS256 keyed with the public key, kid path
 * tricks, jku/x5u/jwk/x5c headers pointing at an attacker server that must never be called,
 * expired, nbf in the future, wrong aud, wrong nonce, azp mismatch) in random combinations.
 *
 * One fixed example of each attack is in test/launch/lti13/refusals.test.ts ("launch refusals")
 * and the validator steps in test/lti/v13/launch-validator.test.ts; these are property versions.
 * Tokens are minted by the fake platform (test/support/fake-lti13-platform.ts).
 */
import t from 'tap'
import fc from 'fast-check'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { base64url, exportJWK, generateKeyPair } from 'jose'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLti13Platform, type MintOptions } from '../support/fake-lti13-platform.js'
import { buildTestApp, TEST_ADMIN_TOKEN } from '../helpers/build-app.js'
import { LtiClaim, ServiceClaim } from '../../src/lti/claims.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { countRows, countsChanged, createTally, refusalCode, unsafeAnswer, type InjectAnswer } from '../support/hostile-input.js'
import { registerFakePlatform } from '../helpers/lti13-registration.js'

const PUBLIC_URL = 'https://tool.example.org'
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const TARGET = contentTargetLinkUri(PUBLIC_URL, DEMO_COURSE_ID, PROBLEM)
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret-93aa' }
const LMS_CLIENT_SECRET = 'lti-provider-secret-0c41'
const SECRETS = [RELAY.secret, LMS_CLIENT_SECRET, TEST_ADMIN_TOKEN]
const STORED = ['lti_profiles', 'graded_resources', 'lti13_deployments', 'lti_users']
const tally = createTally()

/** Every code a refused token may carry (the state, cookie and registration are valid). */
const TOKEN_CODES = [
  'LTI13_TOKEN_MISSING', 'LTI13_TOKEN_MALFORMED', 'LTI13_ALG_NOT_ALLOWED', 'LTI13_UNKNOWN_KID', 'LTI13_BAD_SIGNATURE', 'LTI13_WRONG_ISSUER',
  'LTI13_WRONG_AUDIENCE', 'LTI13_BAD_AZP', 'LTI13_TOKEN_EXPIRED', 'LTI13_TOKEN_FROM_FUTURE', 'LTI13_TOKEN_TOO_OLD', 'LTI13_NONCE_MISMATCH',
  'LTI13_UNKNOWN_REGISTRATION', 'LTI13_REGISTRATION_MISMATCH', 'LTI13_UNKNOWN_DEPLOYMENT', 'LTI13_BAD_VERSION', 'LTI13_BAD_MESSAGE_TYPE',
  'LTI13_DEEP_LINKING_TYPES_NOT_ACCEPTED', 'LTI13_WRONG_MESSAGE_TARGET', 'DEEP_LINKING_ROLE_NOT_ALLOWED', 'DEEP_LINKING_RETURN_URL_NOT_ALLOWED', 'LTI13_MISSING_CLAIM', 'LTI13_INVALID_CLAIM', 'LTI13_BAD_TARGET_LINK_URI', 'LTI13_ANONYMOUS_NOT_ALLOWED',
  'LTI13_LTI1P1_CLAIM_INCOMPLETE', 'LTI13_LTI1P1_BAD_SIGNATURE', 'CONTENT_OUT_OF_SCOPE', 'CONTENT_USAGE_NOT_IN_COURSE', 'CONTENT_INVALID_KEY',
  'LAUNCH_OUTCOME_HOST_NOT_ALLOWED', 'LAUNCH_OUTCOME_URL_INVALID', 'BODY_TOO_LARGE'
]
/**
 * Codes possible before a signature holds: the unverified iss/aud only pick the registration whose
 * keys verify the token (so a payload without them is refused as such), then the header and key.
 */
const SIGNATURE_CODES = ['LTI13_TOKEN_MALFORMED', 'LTI13_MISSING_CLAIM', 'LTI13_INVALID_CLAIM', 'LTI13_UNKNOWN_REGISTRATION', 'LTI13_REGISTRATION_MISMATCH',
  'LTI13_ALG_NOT_ALLOWED', 'LTI13_UNKNOWN_KID', 'LTI13_BAD_SIGNATURE']

t.test('id_token under hostile input', async t => {
  const lms = await startFakeLms({ clientId: 'lti-provider-client', clientSecret: LMS_CLIENT_SECRET, ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const platform: FakeLti13Platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const { app } = await buildTestApp(t, {
    PUBLIC_URL, LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET,
    LMS_RELAY_CONSUMER_KEY: RELAY.key, LMS_RELAY_CONSUMER_SECRET: RELAY.secret, LMS_TIMEOUT_MS: '1500', RATE_LIMIT_ENABLED: 'false'
  })
  await registerFakePlatform(app.knex, platform)

  // The attacker's server: jku / x5u / jwk URLs point here; the tool must never call it.
  let attackerHits = 0
  const attacker = createServer((_req, res) => { attackerHits++; res.end('{"keys":[]}') })
  await new Promise<void>(resolve => attacker.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => attacker.close(() => resolve())))
  const attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`
  const launch = { userId: 'learner-1', targetLinkUri: TARGET }

  async function loginNow (): Promise<{ state: string, nonce: string, cookie: string }> {
    const res = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
    if (res.statusCode !== 302) throw new Error(`login refused: ${res.body.slice(0, 200)}`)
    const q = new URL(String(res.headers.location)).searchParams
    return { state: q.get('state') as string, nonce: q.get('nonce') as string, cookie: String(res.headers['set-cookie']).split(';')[0] as string }
  }

  /** Logs in, builds the token from the login's nonce, posts it; returns the answer and why it is wrong. */
  async function launchWith (token: (nonce: string) => Promise<string> | string, allowed: readonly string[] = TOKEN_CODES): Promise<{ res: InjectAnswer, failure: string | undefined }> {
    const { state, nonce, cookie } = await loginNow()
    const before = await countRows(app.knex, STORED)
    tally.add()
    const res = await app.inject({
      method: 'POST', url: '/lti/1.3/launch', payload: new URLSearchParams({ id_token: await token(nonce), state }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie }
    })
    const unsafe = unsafeAnswer(res, SECRETS)
    if (unsafe !== undefined) return { res, failure: unsafe }
    if (/eyJ[A-Za-z0-9_-]{10,}/.test(res.body)) return { res, failure: 'token echoed in the page' }
    if (res.statusCode === 200 || res.statusCode === 302) return { res, failure: undefined }
    const code = refusalCode(res)
    if (code === undefined || !allowed.includes(code)) return { res, failure: `unexpected refusal ${res.statusCode} ${String(code)}` }
    return { res, failure: countsChanged(before, await countRows(app.knex, STORED)) }
  }
  const mint = async (nonce: string, options: MintOptions = {}): Promise<string> => await platform.mintIdToken({ launch, nonce, ...options })
  const refusedOnly = (r: { res: InjectAnswer, failure: string | undefined }): string | undefined =>
    r.failure ?? (r.res.statusCode < 400 ? `accepted (${r.res.statusCode})` : undefined)

  await t.test('a good token launches (the harness is sound)', async t => {
    const { res, failure } = await launchWith(async nonce => await mint(nonce))
    t.equal(failure, undefined)
    t.equal(res.statusCode, 200, res.body.slice(0, 200))
  })
  let baseline = await countRows(app.knex, STORED)

  await t.test('random JWT-shaped strings: a token or signature refusal, nothing stored', async t => {
    const segment = fc.oneof(
      fc.uint8Array({ maxLength: 120 }).map(b => base64url.encode(b)),
      fc.jsonValue({ maxDepth: 4 }).map(v => base64url.encode(JSON.stringify(v))),
      fc.record({ alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'PS256', 'RS1', '', 'rs256'), kid: fc.option(fc.string()), typ: fc.option(fc.string()) }, { requiredKeys: ['alg'] }).map(h => base64url.encode(JSON.stringify(h))),
      fc.string({ maxLength: 40 })
    )
    // A payload 20,000 levels deep (what fits in the 64 KiB body), under any header: parsed before any signature check.
    const deepPayload = fc.tuple(segment, fc.integer({ min: 1000, max: 20_000 }), fc.constantFrom('iss', 'aud', 'x'))
      .map(([head, n, claim]) => `${head}.${base64url.encode(`{"${claim}":${'['.repeat(n)}${']'.repeat(n)}}`)}.AAAA`)
    const shaped = fc.oneof(
      deepPayload,
      fc.array(segment, { minLength: 1, maxLength: 6 }).map(s => s.join('.')),
      fc.tuple(segment, segment, segment).map(s => s.join('.')),
      fc.string({ unit: 'binary', maxLength: 200 })
    )
    await fc.assert(fc.asyncProperty(shaped, async token => {
      const failure = refusedOnly(await launchWith(() => token, [...SIGNATURE_CODES, 'LTI13_TOKEN_MISSING']))
      if (failure !== undefined) throw new Error(`${token.slice(0, 80)}… (${token.length} chars): ${failure}`)
    }), { numRuns: 150 })
    t.pass('150 random tokens refused')
  })

  await t.test('a good token with one segment mutated, truncated or swapped: refused on the signature', async t => {
    const mutation = fc.record({ segment: fc.integer({ min: 0, max: 2 }), at: fc.nat(), kind: fc.constantFrom('flip', 'truncate', 'drop', 'swap', 'append') })
    await fc.assert(fc.asyncProperty(mutation, async ({ segment, at, kind }) => {
      const failure = refusedOnly(await launchWith(async nonce => {
        const parts = (await mint(nonce)).split('.')
        const s = parts[segment] as string
        const i = at % Math.max(1, s.length)
        if (kind === 'flip') parts[segment] = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
        if (kind === 'truncate') parts[segment] = s.slice(0, i)
        if (kind === 'drop') parts.splice(segment, 1)
        if (kind === 'swap') [parts[0], parts[1]] = [parts[1] as string, parts[0] as string]
        if (kind === 'append') parts[segment] = s + 'AAAA'
        return parts.join('.')
      }, SIGNATURE_CODES))
      // A flip in the last character of a base64url segment can leave its bytes unchanged.
      if (failure === 'accepted (200)' && (kind === 'flip' || kind === 'append')) return
      if (failure !== undefined) throw new Error(`${kind} segment ${segment}: ${failure}`)
    }), { numRuns: 100 })
    t.pass('100 mutated tokens refused')
  })

  await t.test('every required claim with a wrong type, deep JSON or a huge value (signed by the platform): a claim refusal, never a 500', async t => {
    const claimNames = ['iss', 'aud', 'sub', 'exp', 'iat', 'nonce', 'azp', LtiClaim.messageType, LtiClaim.version, LtiClaim.deploymentId, LtiClaim.targetLinkUri,
      LtiClaim.resourceLink, LtiClaim.roles, LtiClaim.context, LtiClaim.custom, LtiClaim.launchPresentation, ServiceClaim.agsEndpoint, LtiClaim.lti1p1]
    // Built at mint time from its depth: fast-check cannot print a counterexample thousands of levels
    // deep. Signed ones stop at 1,000 (jose's JSON.stringify runs out of stack first); deeper,
    // unsigned payloads are in the random-token property.
    class Deep { readonly depth: number; constructor (depth: number) { this.depth = depth } }
    const deep = fc.integer({ min: 100, max: 1000 }).map(n => new Deep(n))
    const materialize = (v: unknown): unknown => v instanceof Deep ? JSON.parse('['.repeat(v.depth) + ']'.repeat(v.depth)) : v
    const wrong = fc.oneof(
      fc.constantFrom(null, true, false, 0, -1, 1e308, 1.5, '', ' ', [], {}, [[]], { id: {} }, ['a', 1], { __proto__: { polluted: true } }),
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ minLength: 256, maxLength: 20_000 }),
      deep
    )
    const accepted = new Set<string>()
    await fc.assert(fc.asyncProperty(fc.constantFrom(...claimNames), wrong, async (claim, value) => {
      const before = await countRows(app.knex, STORED)
      const { res, failure } = await launchWith(async nonce => await mint(nonce, { claims: { [claim]: materialize(value) } }))
      if (failure !== undefined) throw new Error(`${claim}=${JSON.stringify(value).slice(0, 80)}: ${failure}`)
      // A value the claim may take (another `sub` is another learner, who is then stored): a launch.
      if (res.statusCode === 200) { accepted.add(claim); return }
      const after = await countRows(app.knex, STORED)
      if (JSON.stringify(after) !== JSON.stringify(before)) throw new Error(`${claim}=${JSON.stringify(value).slice(0, 80)}: refused but stored ${JSON.stringify(after)} vs ${JSON.stringify(before)}`)
    }), { numRuns: 200 })
    t.comment(`claims that accepted a generated value: ${[...accepted].join(', ') || 'none'}`)
    // These must equal one exact value (the login's nonce, our client id, the registered issuer…): no generated value can pass.
    const exact = ['iss', 'aud', 'nonce', LtiClaim.messageType, LtiClaim.version, LtiClaim.deploymentId, LtiClaim.targetLinkUri]
    t.same([...accepted].filter(c => exact.includes(c)), [], 'no claim that must hold one exact value accepted a generated one')
    // Accepted launches stored their learners; the properties below start from here.
    baseline = await countRows(app.knex, STORED)
    t.equal(Object.prototype.hasOwnProperty.call({}, 'polluted'), false)
  })

  await t.test('JWT attacks in random combinations: refused, the attacker\'s key URLs never fetched', async t => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
    const attackerJwk = { ...(await exportJWK(publicKey)), kid: 'attacker', alg: 'RS256' }
    void privateKey
    const at = Math.floor(Date.now() / 1000)
    const attack = fc.constantFrom<[string, MintOptions | ((nonce: string) => MintOptions)]>(
      ['alg none', { signing: 'none' }],
      ['alg none, kid kept', { signing: 'none', header: { kid: platform.kid } }],
      ['HS256 keyed with the public key', { signing: 'hs256-public-key' }],
      ['kid ../../etc/passwd', { signing: 'foreign-key', header: { kid: '../../../../etc/passwd' } }],
      ['kid /dev/null', { signing: 'foreign-key', header: { kid: '/dev/null' } }],
      ['kid SQL', { signing: 'foreign-key', header: { kid: "' UNION SELECT 'key' --" } }],
      ['kid URL', { signing: 'foreign-key', header: { kid: `${attackerUrl}/kid` } }],
      ['jku to the attacker', { signing: 'foreign-key', header: { jku: `${attackerUrl}/jwks.json`, kid: 'attacker' } }],
      ['x5u to the attacker', { signing: 'foreign-key', header: { x5u: `${attackerUrl}/cert.pem` } }],
      ['embedded jwk of the attacker', { signing: 'foreign-key', header: { jwk: attackerJwk, kid: 'attacker' } }],
      ['jku + the platform kid', { signing: 'foreign-key', header: { jku: `${attackerUrl}/jwks.json` } }],
      ['expired', { iat: at - 7200 }],
      ['nbf in the future', { claims: { nbf: at + 3600 } }],
      ['wrong aud', { claims: { aud: 'another-tool', azp: undefined } }],
      ['aud list without us', { claims: { aud: ['a', 'b'], azp: 'a' } }],
      ['azp mismatch', { claims: { aud: [platform.clientId, 'other'], azp: 'other' } }],
      ['wrong nonce', () => ({ nonce: 'not-the-login-nonce' })],
      ['wrong issuer', { claims: { iss: `${attackerUrl}` } }],
      ['crit header', { tamperHeader: { crit: ['exp'] } }]
    )
    await fc.assert(fc.asyncProperty(fc.array(attack, { minLength: 1, maxLength: 3 }), async attacks => {
      const failure = refusedOnly(await launchWith(async nonce => {
        let options: MintOptions = {}
        for (const [, a] of attacks) {
          const o = typeof a === 'function' ? a(nonce) : a
          options = { ...options, ...o, header: { ...options.header, ...o.header }, claims: { ...options.claims, ...o.claims } }
        }
        return await mint(options.nonce ?? nonce, options)
      }))
      if (failure !== undefined) throw new Error(`${attacks.map(a => a[0]).join(' + ')}: ${failure}`)
      // Runs kept low: each foreign-key token costs an RSA key generation.
    }), { numRuns: 80 })
    t.equal(attackerHits, 0, 'jku, x5u, jwk and URL-shaped kids were never fetched')
    t.same(await countRows(app.knex, STORED), baseline, 'nothing stored')
  })

  t.comment(`hostile id_token launches sent: ${tally.total}`)
})
