import t from 'tap'
import { BoundedCache } from '../../src/events/decode/bounded-cache.js'

t.test('evicts the least recently used entry', async t => {
  const cache = new BoundedCache<number, string>(2)
  cache.set(1, 'a')
  cache.set(2, 'b')
  t.equal(cache.get(1), 'a', 'touch 1')
  cache.set(3, 'c')
  t.equal(cache.size, 2)
  t.equal(cache.get(2), undefined, '2 was the least recently used')
  t.equal(cache.get(1), 'a')
  t.equal(cache.get(3), 'c')
  cache.set(3, 'c2')
  t.equal(cache.size, 2, 'overwrite does not grow')
  t.equal(cache.get(3), 'c2')
  cache.delete(3)
  t.equal(cache.get(3), undefined)
})

t.test('capacity must be a positive integer', async t => {
  t.throws(() => new BoundedCache(0), RangeError)
  t.throws(() => new BoundedCache(1.5), RangeError)
})
