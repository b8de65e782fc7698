import t from 'tap'
import { ServiceTokenCache, type IssuedToken } from '../../src/lms/service-token.js'

function issuer (expiresInSeconds: number): { issue: () => Promise<IssuedToken>, count: () => number } {
  let n = 0
  return {
    issue: async () => {
      n++
      await new Promise(resolve => setTimeout(resolve, 5))
      return { accessToken: `t${n}`, scheme: 'JWT', expiresInSeconds }
    },
    count: () => n,
  }
}

t.test('cached until expires_in − 60 s', async t => {
  let now = 1_000_000
  const src = issuer(3600)
  const cache = new ServiceTokenCache(src.issue, () => now)
  t.equal((await cache.get()).accessToken, 't1')
  now += 3539_000
  t.equal((await cache.get()).accessToken, 't1', 'still inside the window')
  now += 1_000
  t.equal((await cache.get()).accessToken, 't2', 'refreshed 60 s before expiry')
  t.equal(src.count(), 2)
})

t.test('single flight: concurrent callers share one request', async t => {
  const src = issuer(3600)
  const cache = new ServiceTokenCache(src.issue, Date.now)
  const tokens = await Promise.all(Array.from({ length: 20 }, async () => cache.get()))
  t.equal(src.count(), 1)
  t.same(new Set(tokens.map(x => x.accessToken)), new Set(['t1']))
})

t.test('a failed request is not cached and the next caller tries again', async t => {
  let fail = true
  const cache = new ServiceTokenCache(async () => {
    if (fail) throw new Error('down')
    return { accessToken: 'ok', scheme: 'Bearer', expiresInSeconds: 100 }
  }, Date.now)
  await t.rejects(Promise.all([cache.get(), cache.get()]), /down/)
  fail = false
  t.equal((await cache.get()).accessToken, 'ok')
})

t.test('invalidate drops only the refused token', async t => {
  const src = issuer(3600)
  const cache = new ServiceTokenCache(src.issue, Date.now)
  const first = await cache.get()
  cache.invalidate('some-older-token')
  t.equal((await cache.get()).accessToken, first.accessToken)
  cache.invalidate(first.accessToken)
  t.equal((await cache.get()).accessToken, 't2')
})

t.test('a lifetime shorter than the margin is never reused', async t => {
  const src = issuer(30)
  const cache = new ServiceTokenCache(src.issue, Date.now)
  await cache.get()
  await cache.get()
  t.equal(src.count(), 2)
})
