import t from 'tap'
import { createAccessTokenCache, tokenCacheKey } from '../../../src/grades/delivery/access-token-cache.js'
import type { AccessToken } from '../../../src/lti/v13/access-token-request.js'

function clock (start = 1_000_000) {
  let at = start
  return { now: () => at, advance: (ms: number) => { at += ms } }
}

t.test('key: registration and scope set, order and duplicates ignored', async t => {
  t.equal(tokenCacheKey(3, ['b', 'a', 'b']), tokenCacheKey('3', ['a', 'b']))
  t.not(tokenCacheKey(3, ['a']), tokenCacheKey(4, ['a']))
  t.not(tokenCacheKey(3, ['a']), tokenCacheKey(3, ['a', 'b']))
})

t.test('cached until expires_in − 60 s; concurrent callers share one request', async t => {
  const c = clock()
  const cache = createAccessTokenCache({ now: c.now })
  let fetches = 0
  let release: (() => void) | undefined
  const fetchToken = async (): Promise<AccessToken> => {
    fetches++
    await new Promise<void>(resolve => { release = resolve })
    return { accessToken: `tok-${fetches}`, expiresAt: c.now() + 3_600_000, scopes: undefined }
  }
  const both = Promise.all([cache.get('k', fetchToken), cache.get('k', fetchToken), cache.get('k', fetchToken)])
  await new Promise(resolve => setImmediate(resolve))
  release?.()
  t.same(await both, ['tok-1', 'tok-1', 'tok-1'])
  t.equal(fetches, 1)

  c.advance(3_600_000 - 60_001)
  t.equal(await cache.get('k', fetchToken), 'tok-1', 'still inside the margin')
  c.advance(1)
  const next = cache.get('k', fetchToken)
  await new Promise(resolve => setImmediate(resolve))
  release?.()
  t.equal(await next, 'tok-2', 'refreshed 60 s before expiry')
  t.equal(cache.size, 1)
})

t.test('invalidate drops only the token that failed; short-lived and failed fetches are not kept', async t => {
  const c = clock()
  const cache = createAccessTokenCache({ now: c.now })
  let n = 0
  const long = async (): Promise<AccessToken> => ({ accessToken: `t${++n}`, expiresAt: c.now() + 3_600_000, scopes: undefined })
  t.equal(await cache.get('k', long), 't1')
  cache.invalidate('k', 'someone-elses-old-token')
  t.equal(await cache.get('k', long), 't1')
  cache.invalidate('k', 't1')
  t.equal(await cache.get('k', long), 't2')

  const short = async (): Promise<AccessToken> => ({ accessToken: `s${++n}`, expiresAt: c.now() + 30_000, scopes: undefined })
  t.equal(await cache.get('short', short), 's3')
  t.equal(await cache.get('short', short), 's4', 'a 30 s token serves one call only')

  const failing = async (): Promise<AccessToken> => { throw new Error('token endpoint down') }
  await t.rejects(cache.get('f', failing), /down/)
  t.equal(await cache.get('f', long), 't5', 'a failure is not cached')
})

t.test('bounded: the oldest key goes first', async t => {
  const cache = createAccessTokenCache({ maxEntries: 2 })
  const tok = (v: string) => async (): Promise<AccessToken> => ({ accessToken: v, expiresAt: Date.now() + 3_600_000, scopes: undefined })
  await cache.get('a', tok('A'))
  await cache.get('b', tok('B'))
  await cache.get('c', tok('C'))
  t.equal(cache.size, 2)
  t.equal(await cache.get('a', tok('A2')), 'A2')
  t.equal(await cache.get('c', tok('C2')), 'C')
})
