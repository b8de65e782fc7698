import t from 'tap'
import fc from 'fast-check'
import { UserIdSet } from '../../../src/events/consumer/user-id-set.js'

t.test('behaves like a Set of positive safe integers', async t => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }))), fc.array(fc.integer({ min: -10, max: Number.MAX_SAFE_INTEGER })), (added, probes) => {
    const set = new UserIdSet(4)
    const model = new Set<number>()
    for (const id of added) {
      const fresh = !model.has(id)
      model.add(id)
      if (set.add(id) !== fresh) return false
    }
    if (set.size !== model.size) return false
    return [...added, ...probes].every(id => set.has(id) === model.has(id))
  }), { numRuns: 200 })
})

t.test('ids past 2^32 that share their low 32 bits stay distinct', async t => {
  const set = new UserIdSet()
  const low = 12345
  for (let high = 0; high < 100; high++) set.add(high * 2 ** 32 + low)
  t.equal(set.size, 100)
  t.ok(set.has(99 * 2 ** 32 + low))
  t.notOk(set.has(100 * 2 ** 32 + low))
})

t.test('refuses what cannot be an LMS user id', async t => {
  const set = new UserIdSet()
  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    t.equal(set.add(bad), false, `add(${bad})`)
    t.equal(set.has(bad), false, `has(${bad})`)
  }
  t.equal(set.size, 0)
})

t.test('grows and keeps about 16 bytes per id', async t => {
  const set = new UserIdSet()
  for (let id = 1; id <= 100_000; id++) set.add(id * 7919)
  t.equal(set.size, 100_000)
  t.ok(set.has(50_000 * 7919))
  t.notOk(set.has(50_000 * 7919 + 1))
  t.ok(set.bytes <= 100_000 * 8 * 4, `${set.bytes} bytes`)
})
