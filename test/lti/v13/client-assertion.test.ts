import t from 'tap'
import { decodeProtectedHeader, generateKeyPair, jwtVerify } from 'jose'
import { buildClientAssertion } from '../../../src/lti/v13/client-assertion.js'
import { accessTokenRequestBody, parseAccessTokenResponse } from '../../../src/lti/v13/access-token-request.js'

const TOKEN_URL = 'https://lms.example.test/api/lti_consumer/v1/token/abc'
const { privateKey, publicKey } = await generateKeyPair('RS256')

t.test('RFC 7523 assertion: claims, header, lifetime, random jti', async t => {
  const now = 1_700_000_000_000
  const jwt = await buildClientAssertion({ clientId: 'tool-client', audience: TOKEN_URL, privateKey, kid: 'kid-1', now })
  t.same(decodeProtectedHeader(jwt), { alg: 'RS256', typ: 'JWT', kid: 'kid-1' })
  const { payload } = await jwtVerify(jwt, publicKey, {
    algorithms: ['RS256'], issuer: 'tool-client', subject: 'tool-client', audience: TOKEN_URL, currentDate: new Date(now)
  })
  t.equal(payload.iat, now / 1000)
  t.equal((payload.exp as number) - (payload.iat as number), 300)
  t.ok(Buffer.from(payload.jti as string, 'base64url').length >= 16, 'jti carries at least 128 random bits')
  t.same(Object.keys(payload).sort(), ['aud', 'exp', 'iat', 'iss', 'jti', 'sub'])

  const jtis = new Set(await Promise.all(Array.from({ length: 20 }, async () =>
    (await jwtVerify(await buildClientAssertion({ clientId: 'c', audience: TOKEN_URL, privateKey, kid: 'k' }), publicKey)).payload.jti)))
  t.equal(jtis.size, 20, 'a fresh jti every time')

  const long = await buildClientAssertion({ clientId: 'c', audience: TOKEN_URL, privateKey, kid: 'k', lifetimeSeconds: 3600, now })
  const p = (await jwtVerify(long, publicKey, { currentDate: new Date(now) })).payload
  t.equal((p.exp as number) - (p.iat as number), 300, 'never more than 5 minutes')
  const short = await buildClientAssertion({ clientId: 'c', audience: TOKEN_URL, privateKey, kid: 'k', lifetimeSeconds: 60, now })
  const q = (await jwtVerify(short, publicKey, { currentDate: new Date(now) })).payload
  t.equal((q.exp as number) - (q.iat as number), 60)
})

t.test('RS512 when the registration asks for it', async t => {
  const rs512 = await generateKeyPair('RS512')
  const jwt = await buildClientAssertion({ clientId: 'c', audience: TOKEN_URL, privateKey: rs512.privateKey, kid: 'k', alg: 'RS512' })
  t.equal(decodeProtectedHeader(jwt).alg, 'RS512')
  t.ok(await jwtVerify(jwt, rs512.publicKey, { algorithms: ['RS512'] }))
})

t.test('token request body and response', async t => {
  const body = accessTokenRequestBody({ clientAssertion: 'a.b.c', scopes: ['https://purl.imsglobal.org/spec/lti-ags/scope/score', 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly'] })
  t.equal(body.toString(),
    'grant_type=client_credentials' +
    '&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer' +
    '&client_assertion=a.b.c' +
    '&scope=https%3A%2F%2Fpurl.imsglobal.org%2Fspec%2Flti-ags%2Fscope%2Fscore+https%3A%2F%2Fpurl.imsglobal.org%2Fspec%2Flti-ags%2Fscope%2Flineitem.readonly')

  // Open edX answers lowercase `bearer` and drops unknown scopes.
  t.same(parseAccessTokenResponse({ access_token: 'tok', token_type: 'bearer', expires_in: 3600, scope: 'a b' }, 1000),
    { accessToken: 'tok', expiresAt: 3_601_000, scopes: ['a', 'b'] })
  t.equal(parseAccessTokenResponse({ access_token: 'tok', token_type: 'Bearer', expires_in: '60' }, 0).expiresAt, 60_000)
  t.equal(parseAccessTokenResponse({ access_token: 'tok', token_type: 'Bearer', expires_in: 60 }, 0).scopes, undefined)
  for (const bad of [null, 'x', { token_type: 'bearer', expires_in: 1 }, { access_token: 't', token_type: 'mac', expires_in: 1 },
    { access_token: 't', token_type: 'bearer' }, { access_token: 't', token_type: 'bearer', expires_in: 0 }]) {
    t.throws(() => parseAccessTokenResponse(bad, 0), { code: 'LTI13_TOKEN_RESPONSE_INVALID', status: 502 })
  }
})
