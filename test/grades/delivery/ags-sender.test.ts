import t from 'tap'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { createSecretBox } from '../../../src/crypto/secret-box.js'
import { isAppError } from '../../../src/errors.js'
import { createOutboundClient } from '../../../src/http/outbound-client.js'
import { createToolKeys } from '../../../src/keys/tool-keys.js'
import { createAccessTokenCache } from '../../../src/grades/delivery/access-token-cache.js'
import { createAgsSender, type AgsScoreDelivery } from '../../../src/grades/delivery/ags-sender.js'
import { createTestDb } from '../../helpers/db.js'
import { startFakeAgsPlatform, type FakeAgsPlatform } from '../../support/fake-ags-platform.js'

interface Teardown { teardown (fn: () => unknown): void }

const EVENT_US = 1_700_000_000_123_456

async function setup (t: Teardown, options: { timeoutMs?: number } = {}) {
  const db = await createTestDb(t)
  const toolKeys = createToolKeys({ knex: db.knex, secretBox: createSecretBox('x'.repeat(40)), graceSeconds: 0 })
  await toolKeys.ensure()
  const platform = await startFakeAgsPlatform({ clientId: 'tool-client-1', toolJwks: () => toolKeys.jwks() })
  t.teardown(() => platform.close())
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true, timeoutMs: options.timeoutMs ?? 2_000 })
  t.teardown(() => http.close())
  const tokenCache = createAccessTokenCache()
  const sender = createAgsSender({ http, tokenCache, signingKey: () => toolKeys.signingKey() })
  return { platform, sender, tokenCache, toolKeys }
}

function delivery (platform: FakeAgsPlatform, over: Partial<AgsScoreDelivery> = {}): AgsScoreDelivery {
  return {
    registration: { id: 1, clientId: platform.clientId, authTokenUrl: platform.tokenUrl, authTokenAudience: null, allowedHosts: ['127.0.0.1'] },
    lineitemUrl: platform.lineitemUrl(7),
    userId: 'learner-sub-1',
    scoreGiven: 8.5,
    scoreMaximum: 10,
    eventTimeUs: EVENT_US,
    ...over
  }
}

async function failure (p: Promise<unknown>): Promise<{ code: string, details: Record<string, unknown> }> {
  try {
    await p
  } catch (err) {
    if (isAppError(err)) return { code: err.code, details: err.details ?? {} }
    throw err
  }
  throw new Error('expected a failure')
}

t.test('token flow + score: the platform verifies our assertion against our JWKS and takes the score', async t => {
  const { platform, sender, toolKeys } = await setup(t)
  t.same(await sender.send(delivery(platform)), { result: 'delivered', duplicate: false })
  t.equal(platform.tokenRequests.length, 1)
  const current = await toolKeys.signingKey()
  t.match(platform.tokenRequests[0], { outcome: 'issued', kid: current.kid, aud: platform.tokenUrl, scope: 'https://purl.imsglobal.org/spec/lti-ags/scope/score' })
  t.same(platform.scores, [{
    lineitem: '7', userId: 'learner-sub-1', scoreGiven: 8.5, scoreMaximum: 10,
    timestamp: '2023-11-14T22:13:20.123456+00:00', timestampUs: EVENT_US, activityProgress: 'Completed', gradingProgress: 'FullyGraded'
  }])
  const req = platform.scoreRequests[0]
  t.equal(req?.contentType, 'application/vnd.ims.lis.v1.score+json')
  t.equal(req?.path, '/api/lti_consumer/v1/lti/1/lti-ags/7/scores')
  t.same(Object.keys(JSON.parse(req?.body ?? '{}') as object), ['userId', 'scoreGiven', 'scoreMaximum', 'timestamp', 'activityProgress', 'gradingProgress'])
})

t.test('aud = the audience the registration states, when it states one', async t => {
  const { platform, sender } = await setup(t)
  const registration = { ...delivery(platform).registration, authTokenAudience: 'https://auth.example.edu/oauth2' }
  // The fake platform expects its token URL as audience, so it refuses: the assertion carried the other one.
  t.match(await failure(sender.send(delivery(platform, { registration }))), { code: 'PASSBACK_TOKEN_REJECTED', details: { httpStatus: 400, platformText: '{"error":"invalid_client"}' } })
  t.match(platform.tokenRequests, [{ outcome: 'invalid_client', aud: 'https://auth.example.edu/oauth2' }])
  t.equal(platform.scores.length, 0)
})

t.test('assertion claims, decoded from what the sender puts on the wire', async t => {
  const { platform, toolKeys } = await setup(t)
  const bodies: string[] = []
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true })
  t.teardown(() => http.close())
  const recording = {
    mode: http.mode,
    close: () => http.close(),
    request: async (req: Parameters<typeof http.request>[0]) => {
      if (typeof req.body === 'string' && req.url.endsWith('/token')) bodies.push(req.body)
      return http.request(req)
    }
  }
  const sender = createAgsSender({ http: recording, tokenCache: createAccessTokenCache(), signingKey: () => toolKeys.signingKey(), now: () => Date.now() })
  await sender.send(delivery(platform))
  const form = new URLSearchParams(bodies[0])
  t.equal(form.get('grant_type'), 'client_credentials')
  t.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
  const assertion = form.get('client_assertion') ?? ''
  const header = decodeProtectedHeader(assertion)
  const claims = decodeJwt(assertion)
  t.match(header, { alg: 'RS256', typ: 'JWT', kid: (await toolKeys.signingKey()).kid })
  t.match(claims, { iss: platform.clientId, sub: platform.clientId, aud: platform.tokenUrl })
  t.ok((claims.exp ?? 0) - (claims.iat ?? 0) <= 300)
  t.ok(typeof claims.jti === 'string' && claims.jti.length >= 32)
  platform.revokeTokens()
  await sender.send(delivery(platform, { eventTimeUs: EVENT_US + 1 }))
  const second = decodeJwt(new URLSearchParams(bodies[1]).get('client_assertion') ?? '')
  t.not(second.jti, claims.jti, 'a fresh jti per assertion')
})

t.test('tokens are cached per registration: two scores, one token request', async t => {
  const { platform, sender } = await setup(t)
  await sender.send(delivery(platform))
  await sender.send(delivery(platform, { userId: 'learner-sub-2' }))
  t.equal(platform.tokenRequests.length, 1)
  t.equal(platform.scores.length, 2)
  await Promise.all([3, 4, 5].map(n => sender.send(delivery(platform, { userId: `learner-sub-${n}`, registration: { ...delivery(platform).registration, id: 9 } }))))
  t.equal(platform.tokenRequests.length, 2, 'concurrent sends of a new registration share one token request')
})

t.test('a 401 refreshes the token once; a second 401 is a refusal', async t => {
  const { platform, sender } = await setup(t)
  await sender.send(delivery(platform))
  platform.revokeTokens()
  t.same(await sender.send(delivery(platform, { eventTimeUs: EVENT_US + 1 })), { result: 'delivered', duplicate: false })
  t.equal(platform.tokenRequests.length, 2)
  platform.scoreSwitches.respondWith({ kind: 'status', status: 401, body: '{"detail":"Invalid token."}' }, 2)
  t.match(await failure(sender.send(delivery(platform, { eventTimeUs: EVENT_US + 2 }))), { code: 'PASSBACK_PLATFORM_REJECTED', details: { httpStatus: 401 } })
  t.equal(platform.tokenRequests.length, 3, 'exactly one refresh')
})

t.test("Open edX's timestamp rule: same timestamp = already delivered, older = superseded", async t => {
  const { platform, sender } = await setup(t)
  await sender.send(delivery(platform))
  t.same(await sender.send(delivery(platform)), { result: 'delivered', duplicate: true })
  t.match(await sender.send(delivery(platform, { eventTimeUs: EVENT_US - 1, scoreGiven: 1 })), { result: 'superseded' })
  t.same(await sender.send(delivery(platform, { eventTimeUs: EVENT_US + 1, scoreGiven: 9 })), { result: 'delivered', duplicate: false }, 'one microsecond later is newer')
  t.same(platform.scores.map(s => s.scoreGiven), [8.5, 9])
})

t.test('the line item query is kept after /scores', async t => {
  const { platform, sender } = await setup(t)
  await sender.send(delivery(platform, { lineitemUrl: platform.lineitemUrl(7, 'type_id=1') }))
  t.equal(platform.scoreRequests[0]?.path, '/api/lti_consumer/v1/lti/1/lti-ags/7/scores?type_id=1')
})

t.test('bad token answers: no access_token, 400 invalid_client, 500, 429', async t => {
  const { platform, sender } = await setup(t)
  platform.omitAccessToken = true
  t.match(await failure(sender.send(delivery(platform))), { code: 'LTI13_TOKEN_RESPONSE_INVALID', details: { reason: 'no access_token' } })
  platform.omitAccessToken = false
  platform.tokenSwitches.respondWith({ kind: 'status', status: 200, body: 'not json' }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'LTI13_TOKEN_RESPONSE_INVALID', details: { reason: 'not JSON' } })
  platform.tokenSwitches.respondWith({ kind: 'status', status: 500 }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'PASSBACK_TOKEN_UNAVAILABLE', details: { httpStatus: 500 } })
  platform.tokenSwitches.respondWith({ kind: 'rate-limited', retryAfter: '5' }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'PASSBACK_TOKEN_UNAVAILABLE', details: { retryAfterMs: 5_000 } })
  t.equal(platform.scores.length, 0)
  t.same(await sender.send(delivery(platform)), { result: 'delivered', duplicate: false }, 'a failed token request is not cached')
})

t.test('score refusals and failures are coded: 403, 415-style, 500, timeout, redirect, host list', async t => {
  const { platform, sender } = await setup(t, { timeoutMs: 300 })
  platform.scoreSwitches.respondWith({ kind: 'status', status: 403, body: '{"detail":"You do not have permission to perform this action."}' }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'PASSBACK_PLATFORM_REJECTED', details: { httpStatus: 403, platformText: /permission/ } })
  platform.scoreSwitches.respondWith({ kind: 'status', status: 400, body: '{"scoreMaximum":["required"]}' }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'PASSBACK_PLATFORM_REJECTED', details: { httpStatus: 400 } })
  platform.scoreSwitches.respondWith({ kind: 'status', status: 502 }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'PASSBACK_PLATFORM_UNAVAILABLE' })
  platform.scoreSwitches.respondWith({ kind: 'slow', delayMs: 800 }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'HTTP_OUT_TIMEOUT' })
  platform.scoreSwitches.respondWith({ kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/iam' }, 1)
  t.match(await failure(sender.send(delivery(platform))), { code: 'HTTP_OUT_REDIRECT_REFUSED' })
  t.match(await failure(sender.send(delivery(platform, { lineitemUrl: 'https://elsewhere.example.com/lineitems/1' }))), { code: 'HTTP_OUT_HOST_NOT_ALLOWED' })
  await new Promise(resolve => setTimeout(resolve, 900))
  t.equal(platform.scores.length, 0)
})

t.test('production mode: a token endpoint or line item resolving to a metadata or private address is refused', async t => {
  const { platform, toolKeys } = await setup(t)
  const answers: Record<string, string> = { 'platform.example.edu': '169.254.169.254', 'grades.example.edu': '10.1.2.3' }
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: false, resolver: async host => [{ address: answers[host] ?? '203.0.113.5', family: 4 }] })
  t.teardown(() => http.close())
  const sender = createAgsSender({ http, tokenCache: createAccessTokenCache(), signingKey: () => toolKeys.signingKey() })
  const registration = { id: 5, clientId: platform.clientId, authTokenUrl: 'https://platform.example.edu/token', authTokenAudience: null, allowedHosts: ['platform.example.edu', 'grades.example.edu'] }
  t.match(await failure(sender.send(delivery(platform, { registration }))), { code: 'HTTP_OUT_ADDRESS_NOT_ALLOWED', details: { addressClass: 'metadata' } })
  const cache = createAccessTokenCache()
  const withToken = createAgsSender({ http, tokenCache: cache, signingKey: () => toolKeys.signingKey() })
  await cache.get('5\nhttps://purl.imsglobal.org/spec/lti-ags/scope/score', async () => ({ accessToken: 'pre-issued', expiresAt: Date.now() + 3_600_000, scopes: undefined }))
  t.match(await failure(withToken.send(delivery(platform, { registration, lineitemUrl: 'https://grades.example.edu/lineitems/1' }))), { code: 'HTTP_OUT_ADDRESS_NOT_ALLOWED', details: { addressClass: 'private' } })
  t.equal(platform.tokenRequests.length + platform.scoreRequests.length, 0)
})
