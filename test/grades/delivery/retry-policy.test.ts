import t from 'tap'
import { AppError } from '../../../src/errors.js'
import { outboundError } from '../../../src/http/errors.js'
import { lti11Error } from '../../../src/lti/v11/errors.js'
import { lti13Error } from '../../../src/lti/v13/errors.js'
import { GradesError } from '../../../src/grades/errors.js'
import { PassbackError } from '../../../src/grades/delivery/errors.js'
import { backoffDelay, classifyFailure, DEFAULT_BACKOFF, describeError, parseRetryAfter } from '../../../src/grades/delivery/retry-policy.js'
import { failureForStatus, isRetryableStatus, platformText } from '../../../src/grades/delivery/platform-answer.js'
import type { OutboundResponse } from '../../../src/http/outbound-client.js'

t.test('transient: platform 5xx/429, timeouts, connection failures, temporary DNS, LMS trouble, unknown errors', async t => {
  const transient = [
    PassbackError('PASSBACK_PLATFORM_UNAVAILABLE', { httpStatus: 503 }),
    PassbackError('PASSBACK_TOKEN_UNAVAILABLE', { httpStatus: 500 }),
    PassbackError('PASSBACK_COMPOSITE_UNAVAILABLE'),
    outboundError('HTTP_OUT_TIMEOUT', { host: 'h' }),
    outboundError('HTTP_OUT_CONNECT_FAILED', { host: 'h' }),
    outboundError('HTTP_OUT_DNS_FAILED', { host: 'h', transient: true }),
    GradesError('GRADES_LMS_UNAVAILABLE'),
    new AppError('KEY_NONE_CURRENT', 503, 'no key'),
    new Error('Connection lost: The server closed the connection.')
  ]
  for (const err of transient) t.equal(classifyFailure(err).kind, 'transient', describeError(err))
})

t.test('permanent: refusals, SSRF policy, hostile or unreadable answers, broken inputs', async t => {
  const permanent = [
    PassbackError('PASSBACK_PLATFORM_REJECTED', { httpStatus: 400 }),
    PassbackError('PASSBACK_TOKEN_REJECTED', { httpStatus: 400 }),
    PassbackError('PASSBACK_TARGET_MISSING'),
    PassbackError('PASSBACK_SCOPE_NOT_GRANTED'),
    outboundError('HTTP_OUT_ADDRESS_NOT_ALLOWED', { host: 'h', addressClass: 'metadata' }),
    outboundError('HTTP_OUT_HOST_NOT_ALLOWED', { host: 'h' }),
    outboundError('HTTP_OUT_REDIRECT_REFUSED', { host: 'h' }),
    outboundError('HTTP_OUT_TOO_LARGE', { host: 'h' }),
    outboundError('HTTP_OUT_DNS_FAILED', { host: 'h', transient: false }),
    lti11Error('LTI11_OUTCOME_RESPONSE_DOCTYPE'),
    lti11Error('LTI11_OUTCOME_REJECTED', { codeMajor: 'failure', description: 'User not found.' }),
    lti13Error('LTI13_TOKEN_RESPONSE_INVALID', { reason: 'no access_token' }),
    GradesError('GRADES_UNKNOWN_BLOCK'),
    new AppError('SECRET_UNREADABLE', 500, 'cannot decrypt')
  ]
  for (const err of permanent) t.equal(classifyFailure(err).kind, 'permanent', describeError(err))
})

t.test('the verdict keeps Retry-After and a readable, bounded error text', async t => {
  const verdict = classifyFailure(PassbackError('PASSBACK_PLATFORM_UNAVAILABLE', { httpStatus: 429, retryAfterMs: 120_000 }))
  t.same(verdict, { kind: 'transient', error: verdict.error, retryAfterMs: 120_000 })
  t.match(verdict.error, /^PASSBACK_PLATFORM_UNAVAILABLE: .*"httpStatus":429/)
  t.equal(describeError('plain'), 'INTERNAL: plain')
  const long = describeError(PassbackError('PASSBACK_PLATFORM_REJECTED', { platformText: 'x'.repeat(5000) }))
  t.equal(long.length, 1000)
  t.ok(long.endsWith('…'))
})

t.test('backoff: exponential with equal jitter, capped, Retry-After wins when later', async t => {
  const p = DEFAULT_BACKOFF
  t.equal(backoffDelay(1, p, () => 0), 2_500)
  t.equal(backoffDelay(1, p, () => 1), 5_000)
  t.equal(backoffDelay(2, p, () => 0), 5_000)
  t.equal(backoffDelay(4, p, () => 1), 40_000)
  t.equal(backoffDelay(30, p, () => 1), p.maxMs, 'capped')
  t.equal(backoffDelay(200, p, () => 0), p.maxMs / 2, 'no overflow')
  t.equal(backoffDelay(0, p, () => 1), 5_000, 'attempt numbers start at 1')
  t.equal(backoffDelay(1, p, () => 0, 120_000), 120_000)
  t.equal(backoffDelay(10, p, () => 1, 1_000), backoffDelay(10, p, () => 1), 'a short Retry-After never shortens the backoff')
  t.equal(backoffDelay(1, p, () => 0, 10 * 24 * 3_600_000), p.retryAfterCapMs, 'Retry-After capped')
  for (let attempt = 1; attempt <= 12; attempt++) {
    const d = backoffDelay(attempt, p)
    const ceiling = Math.min(p.maxMs, p.baseMs * 2 ** (attempt - 1))
    t.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d}`)
  }
})

t.test('Retry-After: delay-seconds and HTTP-date (RFC 9110), garbage ignored', async t => {
  const now = Date.parse('2026-11-23T12:00:00Z')
  t.equal(parseRetryAfter('120', now), 120_000)
  t.equal(parseRetryAfter(['7'], now), 7_000)
  t.equal(parseRetryAfter('Mon, 23 Nov 2026 12:01:30 GMT', now), 90_000)
  t.equal(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', now), 0, 'a date in the past means now')
  t.equal(parseRetryAfter(undefined, now), undefined)
  t.equal(parseRetryAfter('soon', now), undefined)
  t.equal(parseRetryAfter('-5', now), undefined)
  t.equal(parseRetryAfter('1.5', now), undefined)
})

t.test('HTTP statuses: which answers are worth a retry', async t => {
  for (const s of [408, 425, 429, 500, 502, 503, 504]) t.ok(isRetryableStatus(s), String(s))
  for (const s of [301, 307, 400, 401, 403, 404, 409, 415, 422]) t.notOk(isRetryableStatus(s), String(s))
  const res = (status: number, body = '', headers: Record<string, string> = {}): OutboundResponse => ({ status, headers, body: Buffer.from(body), url: 'https://lms.example.edu:8443/x' })
  const now = Date.now()
  t.match(failureForStatus('score', res(429, 'slow down', { 'retry-after': '30' }), now), { code: 'PASSBACK_PLATFORM_UNAVAILABLE', details: { httpStatus: 429, retryAfterMs: 30_000, host: 'lms.example.edu:8443', platformText: 'slow down' } })
  t.match(failureForStatus('token', res(503), now), { code: 'PASSBACK_TOKEN_UNAVAILABLE' })
  t.match(failureForStatus('token', res(400, '{"error": "invalid_client"}'), now), { code: 'PASSBACK_TOKEN_REJECTED', details: { platformText: '{"error": "invalid_client"}' } })
  t.match(failureForStatus('outcome', res(403, '<html>\n\n  Forbidden\t</html>'), now), { code: 'PASSBACK_PLATFORM_REJECTED', details: { platformText: '<html> Forbidden </html>' } })
  t.equal(platformText(Buffer.alloc(0)), undefined)
  t.equal(platformText(Buffer.from('y'.repeat(1000)))?.length, 201)
})

t.test('every PASSBACK_ code is registered and has a deliberate verdict', async t => {
  const { errorFamilies } = await import('../../../src/errors.js')
  const family = errorFamilies.find(f => Object.hasOwn(f, 'PASSBACK_PLATFORM_REJECTED'))
  t.ok(family, 'registered')
  const transient = new Set(['PASSBACK_PLATFORM_UNAVAILABLE', 'PASSBACK_TOKEN_UNAVAILABLE', 'PASSBACK_COMPOSITE_UNAVAILABLE'])
  for (const code of Object.keys(PassbackError.codes) as Array<keyof typeof PassbackError.codes>) {
    t.match(code, /^PASSBACK_[A-Z_]+$/)
    t.equal(classifyFailure(PassbackError(code)).kind, transient.has(code) ? 'transient' : 'permanent', code)
  }
})
