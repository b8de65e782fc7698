import t from 'tap'
import { isAppError } from '../../../src/errors.js'
import { createOutboundClient, type OutboundClientOptions } from '../../../src/http/outbound-client.js'
import type { ResolvedAddress } from '../../../src/http/resolver.js'
import { createLti11OutcomeSender, type Lti11OutcomeDelivery } from '../../../src/grades/delivery/lti11-outcome-sender.js'
import { startFakeLti11OutcomeService, type FakeOutcomeService } from '../../support/fake-lti11-outcome-service.js'

interface Teardown { teardown (fn: () => unknown): void }

function client (t: Teardown, options: Partial<OutboundClientOptions> = {}) {
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true, timeoutMs: 2_000, ...options })
  t.teardown(() => http.close())
  return http
}

async function service (t: Teardown, options: Partial<Parameters<typeof startFakeLti11OutcomeService>[0]> = {}): Promise<FakeOutcomeService> {
  const s = await startFakeLti11OutcomeService({ consumers: { 'consumer-key': 'consumer-secret' }, ...options })
  t.teardown(() => s.close())
  return s
}

function delivery (s: FakeOutcomeService, over: Partial<Lti11OutcomeDelivery> = {}): Lti11OutcomeDelivery {
  return {
    outcomeUrl: s.outcomeUrl(),
    sourcedId: 'course-v1%3AOrgX%2BC1%2B2024:block-v1:OrgX+C1+2024+type@lti+block@1:anon-7',
    consumerKey: 'consumer-key',
    consumerSecret: 'consumer-secret',
    allowedHosts: ['127.0.0.1'],
    score: 0.85,
    messageIdentifier: 'msg-1',
    ...over
  }
}

async function failure (p: Promise<unknown>): Promise<{ code: string, details: Record<string, unknown> }> {
  try {
    await p
  } catch (err) {
    if (isAppError(err)) return { code: err.code, details: err.details ?? {} }
    throw err
  }
  throw new Error('expected a failure')
}

t.test('replaceResult accepted by an Open edX-style outcome service: body hash, signature, score', async t => {
  const s = await service(t, { knownUsers: ['anon-7'] })
  const sender = createLti11OutcomeSender({ http: client(t) })
  const result = await sender.send(delivery(s))
  t.match(result.description, /is now 0\.85$/)
  t.equal(s.ledger.length, 1)
  t.match(s.ledger[0], { consumerKey: 'consumer-key', userId: 'anon-7', score: '0.85', messageIdentifier: 'msg-1' })
  const req = s.requests[0]
  t.equal(req?.headers['content-type'], 'application/xml')
  t.match(req?.headers.authorization, /^OAuth .*oauth_body_hash="/)
  t.match(req?.headers['user-agent'], /^openedx-lti-provider\//)
  t.match(req?.body, /^<\?xml version="1\.0" encoding="UTF-8"\?><imsx_POXEnvelopeRequest xmlns="http:\/\/www\.imsglobal\.org\/services\/ltiv1p1\/xsd\/imsoms_v1p0">/)
})

t.test('the platform refuses what was not signed with the consumer secret', async t => {
  const s = await service(t)
  const sender = createLti11OutcomeSender({ http: client(t) })
  const err = await failure(sender.send(delivery(s, { consumerSecret: 'wrong-secret' })))
  t.match(err, { code: 'LTI11_OUTCOME_REJECTED', details: { codeMajor: 'failure', description: 'OAuth signature verification failed' } })
  const key = await failure(sender.send(delivery(s, { consumerKey: 'unknown-key' })))
  t.match(key.details, { codeMajor: 'failure' })
  t.equal(s.ledger.length, 0)
})

t.test("Open edX's `User not found.` failure is a refusal, not a success", async t => {
  const s = await service(t, { knownUsers: ['anon-7'] })
  const sender = createLti11OutcomeSender({ http: client(t) })
  const err = await failure(sender.send(delivery(s, { sourcedId: 'c:b:anon-unknown' })))
  t.match(err, { code: 'LTI11_OUTCOME_REJECTED', details: { httpStatus: 200, codeMajor: 'failure', description: 'User not found.' } })
  t.equal(s.ledger.length, 0)
})

t.test('the outcome URL query stays in the URL and is signed (RFC 5849)', async t => {
  const rfc = await service(t, { verify: 'rfc5849' })
  const sender = createLti11OutcomeSender({ http: client(t) })
  await sender.send(delivery(rfc, { outcomeUrl: rfc.outcomeUrl(undefined, 'x=1&y=a%20b') }))
  t.equal(rfc.ledger.length, 1)
  t.match(rfc.requests[0]?.url, /outcome_service_handler\?x=1&y=a%20b$/)
  // Open edX drops the query from the base string: RFC-correct signing of a query-carrying URL
  // fails there (its own outcome URLs carry none, wire-formats.md §3).
  const edx = await service(t)
  const err = await failure(sender.send(delivery(edx, { outcomeUrl: edx.outcomeUrl(undefined, 'x=1') })))
  t.match(err.details, { description: 'OAuth signature verification failed' })
})

t.test('500 and 429 are coded as retryable, with Retry-After', async t => {
  const s = await service(t)
  const sender = createLti11OutcomeSender({ http: client(t) })
  s.switches.respondWith({ kind: 'status', status: 500, body: '<html>Server Error</html>' }, 1)
  t.match(await failure(sender.send(delivery(s))), { code: 'PASSBACK_PLATFORM_UNAVAILABLE', details: { httpStatus: 500, platformText: '<html>Server Error</html>' } })
  s.switches.respondWith({ kind: 'rate-limited', retryAfter: '42' }, 1)
  t.match(await failure(sender.send(delivery(s))), { code: 'PASSBACK_PLATFORM_UNAVAILABLE', details: { httpStatus: 429, retryAfterMs: 42_000 } })
  for (const status of [400, 401, 403]) {
    s.switches.respondWith({ kind: 'status', status }, 1)
    t.match(await failure(sender.send(delivery(s))), { code: 'PASSBACK_PLATFORM_REJECTED', details: { httpStatus: status } })
  }
  t.equal(s.ledger.length, 0)
})

t.test('a timeout, a DOCTYPE answer and 10 MB and 50 MB answers are coded, not crashes', async t => {
  const s = await service(t)
  const sender = createLti11OutcomeSender({ http: client(t, { timeoutMs: 200 }) })
  s.switches.respondWith({ kind: 'slow', delayMs: 600 }, 1)
  t.match(await failure(sender.send(delivery(s))), { code: 'HTTP_OUT_TIMEOUT' })
  s.switches.respondWith({ kind: 'doctype' }, 1)
  t.match(await failure(sender.send(delivery(s))), { code: 'LTI11_OUTCOME_RESPONSE_DOCTYPE' })
  s.switches.respondWith({ kind: 'huge' }, 1)
  t.match(await failure(sender.send(delivery(s))), { code: 'HTTP_OUT_TOO_LARGE', details: { maxBytes: 64 * 1024 } })
  // 50 MB streamed without a length: refused at the cap, without reading (or holding) the rest.
  const heapBefore = process.memoryUsage().arrayBuffers
  const started = Date.now()
  s.switches.respondWith({ kind: 'huge', bytes: 50 * 1024 * 1024 }, 1)
  t.match(await failure(sender.send(delivery(s))), { code: 'HTTP_OUT_TOO_LARGE', details: { maxBytes: 64 * 1024 } })
  t.ok(Date.now() - started < 2000, `50 MB answer refused in ${Date.now() - started} ms`)
  t.ok(process.memoryUsage().arrayBuffers - heapBefore < 8 * 1024 * 1024, 'far less than 50 MB held')
  await new Promise(resolve => setTimeout(resolve, 700))
  t.equal(s.ledger.length, 0, 'the timed-out request was not applied behind our back')
})

t.test('a redirect to another host is refused and never followed', async t => {
  const s = await service(t)
  const other = await service(t)
  const sender = createLti11OutcomeSender({ http: client(t) })
  // localhost is another origin than 127.0.0.1, although it is the same machine.
  s.switches.respondWith({ kind: 'redirect', location: `http://localhost:${other.server.port}/steal` }, 1)
  t.match(await failure(sender.send(delivery(s, { allowedHosts: [] }))), { code: 'HTTP_OUT_REDIRECT_REFUSED', details: { reason: 'cross-origin' } })
  s.switches.respondWith({ kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/' }, 1)
  t.match(await failure(sender.send(delivery(s, { allowedHosts: [] }))), { code: 'HTTP_OUT_REDIRECT_REFUSED' })
  t.equal(other.requests.length, 0)
})

t.test('outcome hosts: only the consumer list is contacted', async t => {
  const s = await service(t)
  const sender = createLti11OutcomeSender({ http: client(t) })
  t.match(await failure(sender.send(delivery(s, { allowedHosts: ['lms.example.edu'] }))), { code: 'HTTP_OUT_HOST_NOT_ALLOWED' })
  t.equal(s.requests.length, 0)
  await sender.send(delivery(s, { allowedHosts: [] }))
  t.equal(s.ledger.length, 1, 'an empty list means any public host (the address guard still applies)')
})

t.test('production mode: outcome URLs resolving to loopback or metadata addresses are refused before connecting', async t => {
  const s = await service(t)
  const answers: Record<string, ResolvedAddress[]> = {
    'grades.example.edu': [{ address: '127.0.0.1', family: 4 }],
    'meta.example.edu': [{ address: '169.254.169.254', family: 4 }]
  }
  const http = client(t, { allowLoopbackHttp: false, resolver: async host => answers[host] ?? [] })
  const sender = createLti11OutcomeSender({ http })
  t.match(await failure(sender.send(delivery(s, { outcomeUrl: `https://grades.example.edu:${s.server.port}/outcome`, allowedHosts: [] }))),
    { code: 'HTTP_OUT_ADDRESS_NOT_ALLOWED', details: { addressClass: 'loopback' } })
  t.match(await failure(sender.send(delivery(s, { outcomeUrl: 'https://meta.example.edu/outcome', allowedHosts: [] }))),
    { code: 'HTTP_OUT_ADDRESS_NOT_ALLOWED', details: { addressClass: 'metadata' } })
  t.match(await failure(sender.send(delivery(s, { allowedHosts: [] }))), { code: 'HTTP_OUT_SCHEME_NOT_ALLOWED' })
  t.equal(s.requests.length, 0)
})

t.test('the fake itself refuses a body that does not match its signed hash (so the tests above can fail)', async t => {
  const { signLti11Request } = await import('../../../src/lti/v11/oauth-sign.js')
  const s = await service(t)
  const url = s.outcomeUrl()
  const signed = signLti11Request({ url, consumerKey: 'consumer-key', consumerSecret: 'consumer-secret', body: 'the signed body' })
  const http = client(t)
  const res = await http.request({ url, method: 'POST', headers: { authorization: signed.authorizationHeader, 'content-type': 'application/xml' }, body: 'another body' })
  t.equal(res.status, 200)
  t.match(res.body.toString(), /<imsx_codeMajor>failure<\/imsx_codeMajor>[\s\S]*OAuth body hash verification failed/)
  t.equal(s.ledger.length, 0)
})
