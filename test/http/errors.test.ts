import t from 'tap'
import { AppError, errorFamilies } from '../../src/errors.js'
import { isOutboundError, isTransientOutboundError, outboundError } from '../../src/http/errors.js'
import { socketAddress } from '../../src/http/address-policy.js'
import { toOutboundError } from '../../src/http/outbound-error-mapping.js'

const live = { host: 'platform.example.edu', deadline: new AbortController().signal, callerSignal: undefined }
const coded = (code: string): Error => Object.assign(new Error('x'), { code })

t.test('the HTTP_OUT_ family is registered with stable statuses', async t => {
  const family = errorFamilies.find(f => 'HTTP_OUT_TIMEOUT' in f)
  t.ok(family, 'registered')
  t.same(family?.HTTP_OUT_TIMEOUT?.[0], 504)
  t.same(family?.HTTP_OUT_ADDRESS_NOT_ALLOWED?.[0], 502)
  for (const code of Object.keys(family ?? {})) t.match(code, /^HTTP_OUT_[A-Z_]+$/)
})

t.test('library errors become coded errors', async t => {
  const cases: Array<[Error, string, Record<string, unknown>]> = [
    [coded('UND_ERR_CONNECT_TIMEOUT'), 'HTTP_OUT_TIMEOUT', { phase: 'connect' }],
    [coded('UND_ERR_HEADERS_TIMEOUT'), 'HTTP_OUT_TIMEOUT', { phase: 'headers' }],
    [coded('UND_ERR_BODY_TIMEOUT'), 'HTTP_OUT_TIMEOUT', { phase: 'body' }],
    [coded('ECONNREFUSED'), 'HTTP_OUT_CONNECT_FAILED', { socketCode: 'ECONNREFUSED' }],
    [coded('ECONNRESET'), 'HTTP_OUT_CONNECT_FAILED', { socketCode: 'ECONNRESET' }],
    [coded('UND_ERR_SOCKET'), 'HTTP_OUT_CONNECT_FAILED', { socketCode: 'UND_ERR_SOCKET' }],
    [coded('CERT_HAS_EXPIRED'), 'HTTP_OUT_TLS_FAILED', { tlsCode: 'CERT_HAS_EXPIRED' }],
    [coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'HTTP_OUT_TLS_FAILED', {}],
    [coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'HTTP_OUT_TLS_FAILED', {}],
    [coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'HTTP_OUT_TLS_FAILED', {}],
    [new Error('odd'), 'HTTP_OUT_CONNECT_FAILED', { socketCode: 'unknown' }],
  ]
  for (const [err, code, details] of cases) {
    const mapped = toOutboundError(err, live)
    t.equal(mapped.code, code, String((err as { code?: string }).code))
    t.match(mapped.details, { host: 'platform.example.edu', ...details })
    t.equal(mapped.cause, err, 'the original is kept as cause')
  }
})

t.test('deadline and caller aborts win over the library error', async t => {
  const fired = AbortSignal.abort()
  t.equal(toOutboundError(coded('ECONNRESET'), { ...live, deadline: fired }).code, 'HTTP_OUT_TIMEOUT')
  t.equal(toOutboundError(coded('ECONNRESET'), { ...live, callerSignal: fired }).code, 'HTTP_OUT_ABORTED')
  const own = outboundError('HTTP_OUT_TOO_LARGE')
  t.equal(toOutboundError(own, { ...live, deadline: fired }), own, 'our own errors pass through')
})

t.test('transient or not', async t => {
  t.ok(isTransientOutboundError(outboundError('HTTP_OUT_TIMEOUT')))
  t.ok(isTransientOutboundError(outboundError('HTTP_OUT_CONNECT_FAILED')))
  t.ok(isTransientOutboundError(outboundError('HTTP_OUT_ABORTED')))
  t.ok(isTransientOutboundError(outboundError('HTTP_OUT_DNS_FAILED', { transient: true })))
  t.notOk(isTransientOutboundError(outboundError('HTTP_OUT_DNS_FAILED', { transient: false })))
  for (const code of ['HTTP_OUT_ADDRESS_NOT_ALLOWED', 'HTTP_OUT_HOST_NOT_ALLOWED', 'HTTP_OUT_SCHEME_NOT_ALLOWED', 'HTTP_OUT_TOO_LARGE', 'HTTP_OUT_REDIRECT_REFUSED', 'HTTP_OUT_TLS_FAILED', 'HTTP_OUT_URL_INVALID'] as const) {
    t.notOk(isTransientOutboundError(outboundError(code)), code)
  }
  t.notOk(isTransientOutboundError(new Error('plain')))
  t.notOk(isTransientOutboundError(new AppError('OTHER', 500, 'x')))
  t.ok(isOutboundError(outboundError('HTTP_OUT_TIMEOUT')))
  t.notOk(isOutboundError(new AppError('LMS_UNAVAILABLE', 503, 'x')))
})

t.test('dual-stack socket peers are unwrapped before the peer check', async t => {
  t.equal(socketAddress('::ffff:127.0.0.1'), '127.0.0.1')
  t.equal(socketAddress('::1'), '::1')
  t.equal(socketAddress('93.184.216.34'), '93.184.216.34')
})
