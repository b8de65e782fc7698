import t from 'tap'
import { backoffDelayMs, parseRetryAfter } from '../../src/lms/retry-timing.js'

t.test('exponential backoff with equal jitter, capped', async t => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 }
  t.equal(backoffDelayMs(0, policy, () => 0), 50)
  t.equal(backoffDelayMs(0, policy, () => 1), 100)
  t.equal(backoffDelayMs(1, policy, () => 0), 100)
  t.equal(backoffDelayMs(2, policy, () => 1), 400)
  t.equal(backoffDelayMs(10, policy, () => 1), 1000, 'capped')
  t.equal(backoffDelayMs(10, policy, () => 0), 500, 'at least half the cap')
})

t.test('Retry-After: seconds or HTTP-date (RFC 9110 §10.2.3)', async t => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')
  t.equal(parseRetryAfter('120', now), 120_000)
  t.equal(parseRetryAfter(['3', '9'], now), 3000)
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now), 30_000)
  t.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0, 'a past date means now')
  t.equal(parseRetryAfter(undefined, now), null)
  t.equal(parseRetryAfter('', now), null)
  t.equal(parseRetryAfter('soon', now), null)
  t.equal(parseRetryAfter('-5', now), null)
})
