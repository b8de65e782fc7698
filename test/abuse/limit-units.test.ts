/**
 * The framework-free parts of the abuse limits, on a fake clock: the per-consumer budget's window
 * arithmetic and Retry-After, the refusal's shape, and the server timeouts derived from
 * HTTP_REQUEST_TIMEOUT_MS.
 */
import t from 'tap'
import { isAppError } from '../../src/errors.js'
import { createConsumerBudget } from '../../src/limits/consumer-budget.js'
import { rateLimitedError } from '../../src/limits/rate-limited-error.js'
import { httpTimeouts } from '../../src/limits/http-timeouts.js'

function refusal (fn: () => void): unknown {
  try { fn() } catch (err) { return err }
  return undefined
}

t.test('consumer budget: max fresh launches per window, exact Retry-After, reset at the window edge', async t => {
  let now = 1_000_000
  const budget = createConsumerBudget({ protocol: 'lti11', max: 3, windowMs: 10_000, now: () => now })
  for (let i = 0; i < 3; i++) { budget.check(7); budget.spend(7); now += 1000 }
  const err = refusal(() => budget.check(7))
  t.ok(isAppError(err))
  t.match(err, { code: 'RATE_LIMITED', status: 429, details: { limit: 'consumer', protocol: 'lti11', consumerId: 7, retryAfterSeconds: 7 } }, 'window opened 3 s ago: 7 s left')
  t.equal(refusal(() => budget.check(8)), undefined, 'another consumer has its own budget')
  now += 6_999
  t.ok(refusal(() => budget.check(7)), '1 ms before the edge: still refused')
  t.match(refusal(() => budget.check(7)), { details: { retryAfterSeconds: 1 } }, 'never "Retry-After: 0"')
  now += 1
  t.equal(refusal(() => budget.check(7)), undefined, 'at the edge: a new window')
  budget.spend(7)
  t.equal(refusal(() => budget.check(7)), undefined, '1 of 3 in the new window')
})

t.test('consumer budget: checks never spend; many consumers, each afresh after its window', async t => {
  let now = 0
  const budget = createConsumerBudget({ protocol: 'lti13', max: 1, windowMs: 1000, now: () => now })
  for (let i = 0; i < 100; i++) budget.check(1)
  budget.spend(1)
  t.match(refusal(() => budget.check(1)), { details: { limit: 'consumer', protocol: 'lti13', consumerId: 1 } }, '100 checks cost nothing; one spend does')
  for (let id = 0; id < 10_050; id++) budget.spend(id)
  now += 1000
  budget.spend(99_999)
  t.equal(refusal(() => budget.check(5)), undefined, '10,050 consumers tracked: each starts afresh after its window')
  t.ok(refusal(() => budget.check(99_999)), 'and the new entry counts')
})

t.test('refusal: RATE_LIMITED 429 with the limit kind and a whole number of seconds', async t => {
  t.match(rateLimitedError('ip', 0.2), { code: 'RATE_LIMITED', status: 429, message: 'Too many requests; try again shortly.', details: { limit: 'ip', retryAfterSeconds: 1 } })
  t.match(rateLimitedError('ip', 9.01), { details: { retryAfterSeconds: 10 } })
})

t.test('timeouts: every request timeout from one value; swept every tenth, 50 ms to 5 s', async t => {
  t.same(httpTimeouts(30_000), { connectionTimeout: 30_000, requestTimeout: 30_000, http: { requestTimeout: 30_000, headersTimeout: 30_000, connectionsCheckingInterval: 3000 } })
  t.equal(httpTimeouts(100).http.connectionsCheckingInterval, 50)
  t.equal(httpTimeouts(600_000).http.connectionsCheckingInterval, 5000)
})
