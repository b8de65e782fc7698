import t from 'tap'
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose'
import { createJwksCache, type FetchJwks } from '../../../src/lti/v13/jwks-cache.js'
import { verifySignature } from '../../../src/lti/v13/launch-steps/verify-signature.js'
import { decodeProtectedHeader } from 'jose'
import { fetchJwksText, startFakeLti13Platform } from '../../support/fake-lti13-platform.js'
import type { Lti13Registration } from '../../../src/lti/v13/registration.js'

const URL_A = 'https://platform.example.test/jwks'

async function rsaKey (kid: string): Promise<{ jwk: JWK, sign: (claims?: Record<string, unknown>) => Promise<string>, privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }
  return {
    jwk,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
    sign: async (claims = {}) => await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey)
  }
}

/** A scripted JWKS endpoint with a manual clock. */
function scripted (body: () => string | Error): { fetch: FetchJwks, calls: Array<{ url: string, maxBytes: number }>, clock: { now: number } } {
  const calls: Array<{ url: string, maxBytes: number }> = []
  const clock = { now: 1_700_000_000_000 }
  return {
    calls,
    clock,
    fetch: async (url, { maxBytes }) => {
      calls.push({ url, maxBytes })
      const b = body()
      if (b instanceof Error) throw b
      return b
    }
  }
}

const registration = (jwksUrl: string): Lti13Registration => ({
  id: 1, issuer: 'https://platform.example.test', clientId: 'c', authLoginUrl: 'https://platform.example.test/auth', jwksUrl, deploymentPolicy: 'strict'
})

const verify = async (cache: ReturnType<typeof createJwksCache>, token: string, url = URL_A): Promise<void> =>
  await verifySignature(token, decodeProtectedHeader(token), registration(url), cache)

t.test('one fetch serves launches for 10 minutes, then it is refetched', async t => {
  const k1 = await rsaKey('k1')
  const s = scripted(() => JSON.stringify({ keys: [k1.jwk] }))
  const cache = createJwksCache({ fetchJwks: s.fetch, now: () => s.clock.now })
  await verify(cache, await k1.sign())
  await verify(cache, await k1.sign())
  t.equal(s.calls.length, 1)
  t.same(s.calls[0], { url: URL_A, maxBytes: 64 * 1024 }, 'the fetcher is told the byte cap')
  s.clock.now += 9 * 60_000
  await verify(cache, await k1.sign())
  t.equal(s.calls.length, 1, 'still fresh at 9 min')
  s.clock.now += 61_000
  await verify(cache, await k1.sign())
  t.equal(s.calls.length, 2, 'refetched after 10 min')
})

t.test('concurrent launches share one fetch', async t => {
  const k1 = await rsaKey('k1')
  const s = scripted(() => JSON.stringify({ keys: [k1.jwk] }))
  const cache = createJwksCache({ fetchJwks: s.fetch, now: () => s.clock.now })
  const token = await k1.sign()
  await Promise.all(Array.from({ length: 10 }, async () => await verify(cache, token)))
  t.equal(s.calls.length, 1)
})

t.test('unknown kid: one refetch (key rotation), then at most one per 30 s', async t => {
  const k1 = await rsaKey('k1')
  const k2 = await rsaKey('k2')
  let published = [k1.jwk]
  const s = scripted(() => JSON.stringify({ keys: published }))
  const cache = createJwksCache({ fetchJwks: s.fetch, now: () => s.clock.now })
  await verify(cache, await k1.sign())
  t.equal(s.calls.length, 1)

  s.clock.now += 31_000
  published = [k1.jwk, k2.jwk]
  await verify(cache, await k2.sign())
  t.equal(s.calls.length, 2, 'the rotated key was found by refetching')

  const bogus = await rsaKey('invented-kid')
  await t.rejects(verify(cache, await bogus.sign()), { code: 'LTI13_UNKNOWN_KID' })
  await t.rejects(verify(cache, await bogus.sign()), { code: 'LTI13_UNKNOWN_KID' })
  t.equal(s.calls.length, 2, 'invented kids within 30 s of the last fetch cause no fetch')
  s.clock.now += 29_000
  await t.rejects(verify(cache, await bogus.sign()), { code: 'LTI13_UNKNOWN_KID' })
  t.equal(s.calls.length, 2)
  s.clock.now += 1_000
  await t.rejects(verify(cache, await bogus.sign()), { code: 'LTI13_UNKNOWN_KID' })
  t.equal(s.calls.length, 3, 'one refetch allowed after 30 s')
  await verify(cache, await k2.sign())
  t.equal(s.calls.length, 3, 'known keys keep verifying from the cache')
})

t.test('JWKS down: clear error, no hammering, stale copy served after expiry', async t => {
  const k1 = await rsaKey('k1')
  let down = true
  const s = scripted(() => down ? new Error('connect ECONNREFUSED') : JSON.stringify({ keys: [k1.jwk] }))
  const cache = createJwksCache({ fetchJwks: s.fetch, now: () => s.clock.now })
  await t.rejects(verify(cache, await k1.sign()), { code: 'LTI13_JWKS_UNAVAILABLE', status: 502 })
  await t.rejects(verify(cache, await k1.sign()), { code: 'LTI13_JWKS_UNAVAILABLE' })
  t.equal(s.calls.length, 1, 'a failed fetch is not retried within 30 s')
  s.clock.now += 30_000
  down = false
  await verify(cache, await k1.sign())
  t.equal(s.calls.length, 2)

  down = true
  s.clock.now += 11 * 60_000
  await verify(cache, await k1.sign())
  t.equal(s.calls.length, 3, 'expired: a refetch was tried')
  t.pass('and the stale set still verified while the endpoint is down')
})

t.test('caps: body size and key count; private and symmetric members never verify', async t => {
  const k1 = await rsaKey('k1')
  const big = scripted(() => JSON.stringify({ keys: [k1.jwk], padding: 'x'.repeat(70 * 1024) }))
  await t.rejects(verify(createJwksCache({ fetchJwks: big.fetch }), await k1.sign()), { code: 'LTI13_JWKS_UNAVAILABLE', details: { reason: /larger than/ } })

  const many = scripted(() => JSON.stringify({ keys: Array.from({ length: 21 }, (_, i) => ({ ...k1.jwk, kid: `k${i}` })) }))
  await t.rejects(verify(createJwksCache({ fetchJwks: many.fetch }), await k1.sign()), { code: 'LTI13_JWKS_UNAVAILABLE', details: { reason: /more than 20 keys/ } })
  const fewer = scripted(() => JSON.stringify({ keys: Array.from({ length: 3 }, (_, i) => ({ ...k1.jwk, kid: `k${i}` })) }))
  await verify(createJwksCache({ fetchJwks: fewer.fetch, maxKeys: 3 }), await k1.sign())

  const notJson = scripted(() => '<html>oops</html>')
  await t.rejects(verify(createJwksCache({ fetchJwks: notJson.fetch }), await k1.sign()), { code: 'LTI13_JWKS_UNAVAILABLE' })
  const noKeys = scripted(() => JSON.stringify({ key: [] }))
  await t.rejects(verify(createJwksCache({ fetchJwks: noKeys.fetch }), await k1.sign()), { code: 'LTI13_JWKS_UNAVAILABLE' })

  // A JWKS that (wrongly) publishes a private key: that entry is dropped, not used.
  const withPrivate = scripted(() => JSON.stringify({ keys: [k1.privateJwk] }))
  await t.rejects(verify(createJwksCache({ fetchJwks: withPrivate.fetch }), await k1.sign()), { code: 'LTI13_UNKNOWN_KID' })
  // An `oct` key in the set cannot turn HS256 on.
  const secret = new TextEncoder().encode('shared-secret-shared-secret-1234')
  const oct = scripted(() => JSON.stringify({ keys: [{ kty: 'oct', kid: 'h', k: Buffer.from(secret).toString('base64url'), alg: 'HS256' }, k1.jwk] }))
  const hsToken = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'h' }).sign(secret)
  const hsRegistration = { ...registration(URL_A), algorithms: ['HS256' as never] }
  await t.rejects(verifySignature(hsToken, decodeProtectedHeader(hsToken), hsRegistration, createJwksCache({ fetchJwks: oct.fetch })), { code: 'LTI13_ALG_NOT_ALLOWED' })
})

t.test('against the fake platform over HTTP: rotation, JWKS down, JWKS huge', async t => {
  const platform = await startFakeLti13Platform({ redirectUris: [] })
  t.teardown(() => platform.close())
  let now = Date.now()
  const cache = createJwksCache({ fetchJwks: fetchJwksText, now: () => now })
  const mint = async (): Promise<string> => await platform.mintIdToken({})
  await verify(cache, await mint(), platform.jwksUrl)
  t.equal(platform.jwksRequests, 1)

  await platform.rotateKey()
  now += 30_000
  await verify(cache, await mint(), platform.jwksUrl)
  t.equal(platform.jwksRequests, 2, 'rotated key fetched on its first use')

  platform.faults.jwksHuge = true
  await platform.rotateKey()
  now += 30_000
  await t.rejects(verify(cache, await mint(), platform.jwksUrl), { code: 'LTI13_JWKS_UNAVAILABLE' }, 'a huge JWKS is refused')
  platform.faults.jwksHuge = false
  platform.faults.jwksDown = true
  now += 30_000
  await t.rejects(verify(cache, await mint(), platform.jwksUrl), { code: 'LTI13_JWKS_UNAVAILABLE' })
  platform.faults.jwksDown = false
  now += 30_000
  await verify(cache, await mint(), platform.jwksUrl)
  t.equal(platform.jwksRequests, 5)
})
