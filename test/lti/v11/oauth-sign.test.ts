import fc from 'fast-check'
import t from 'tap'
import { signLti11Request } from '../../../src/lti/v11/oauth-sign.js'
import { verifyLti11Request } from '../../../src/lti/v11/oauth-verify.js'

const NOW = new Date('2026-11-23T12:00:00Z')
const TS = Math.floor(NOW.getTime() / 1000)

// Any Unicode text (whole code points), names that are not protocol parameters nor `__proto__`
// (see the dedicated test below), repeated names allowed.
const name = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter(n => !n.startsWith('oauth_') && n !== '__proto__')
const text = fc.string({ unit: 'binary', maxLength: 30 })
const pairs = fc.array(fc.tuple(name, text), { maxLength: 10 })
// Dot segments are excluded: WHATWG URL (and so the HTTP client) resolves them before sending.
const pathSegment = fc.stringMatching(/^[A-Za-z0-9+:@._~-]{1,20}$/).filter(s => s !== '.' && s !== '..')

t.test('sign-then-verify round trip over random Unicode parameters, paths and secrets', async t => {
  fc.assert(fc.property(pairs, pairs, fc.array(pathSegment, { minLength: 1, maxLength: 4 }), text, fc.constantFrom('HMAC-SHA1', 'HMAC-SHA256') as fc.Arbitrary<'HMAC-SHA1' | 'HMAC-SHA256'>,
    (form, query, segments, consumerSecret, signatureMethod) => {
      const path = '/' + segments.join('/')
      const search = query.length === 0 ? '' : '?' + new URLSearchParams(query).toString()
      const signed = signLti11Request({ url: `https://Tool.Example.org:443${path}${search}`, consumerKey: 'k', consumerSecret, formParams: form, signatureMethod, now: NOW })
      const verified = verifyLti11Request({
        method: 'POST', publicUrl: 'https://tool.example.org', rawPath: path + search, body: signed.formParams,
        consumerSecret, allowedMethods: ['HMAC-SHA256'], now: NOW
      })
      return verified.signatureMethod === signatureMethod && verified.timestamp === TS
    }), { numRuns: 400 })
  t.pass('400 random requests')
})

t.test('round trip with a body hash and the Authorization header', async t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), pairs, text, (body, query, consumerSecret) => {
    const search = query.length === 0 ? '' : '?' + new URLSearchParams(query).toString()
    const signed = signLti11Request({ url: `https://lms.example.edu/outcomes${search}`, consumerKey: 'k', consumerSecret, body, now: NOW })
    verifyLti11Request({ method: 'POST', publicUrl: 'https://lms.example.edu', rawPath: '/outcomes' + search, authorization: signed.authorizationHeader, rawBody: body, consumerSecret, now: NOW })
    return signed.formParams.every(([n]) => n.startsWith('oauth_'))
  }), { numRuns: 200 })
  t.pass('200 random outcome calls')
})

t.test('output shape', async t => {
  const signed = signLti11Request({ url: 'https://lms.example.edu/launch', consumerKey: 'key', consumerSecret: 's', formParams: { a: ['1', '2'], b: '3' }, callback: 'about:blank', now: NOW })
  t.equal(signed.method, 'POST')
  t.equal(signed.url, 'https://lms.example.edu/launch')
  t.same(Object.keys(signed.oauthParams).sort(), ['oauth_callback', 'oauth_consumer_key', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_version'])
  t.equal(signed.oauthParams.oauth_timestamp, String(TS), 'timestamp from `now`')
  t.same(signed.formParams.slice(0, 3), [['a', '1'], ['a', '2'], ['b', '3']], 'form parameters first, repeated names kept')
  t.equal(signed.bodyHash, undefined)
  t.match(signed.authorizationHeader, /^OAuth oauth_callback="about%3Ablank", oauth_consumer_key="key", oauth_nonce="[0-9a-f]{32}", oauth_signature="[^"]+", oauth_signature_method="HMAC-SHA1", oauth_timestamp="\d+", oauth_version="1.0"$/)
})

t.test('misuse is a programming error', async t => {
  t.throws(() => signLti11Request({ url: 'https://a.org/', consumerKey: 'k', consumerSecret: 's', formParams: {}, body: '' }), TypeError)
  t.throws(() => signLti11Request({ url: 'https://a.org/', consumerKey: 'k', consumerSecret: 's', formParams: { oauth_nonce: 'x' } }), TypeError)
  t.throws(() => signLti11Request({ url: 'https://a.org/?oauth_token=x', consumerKey: 'k', consumerSecret: 's' }), TypeError)
  t.throws(() => signLti11Request({ url: 'ftp://a.org/', consumerKey: 'k', consumerSecret: 's' }), TypeError)
})

t.test('a value that is not Unicode text is refused with a code, not a URIError', async t => {
  t.throws(() => signLti11Request({ url: 'https://a.org/', consumerKey: 'k', consumerSecret: 's', formParams: { a: 'x\uDC00' } }), { code: 'LTI11_MALFORMED_PARAM' })
})

t.test('oauth-1.0a quirks are caught by the base-string cross-check instead of sending a wrong signature', async t => {
  // The package merges parameters through plain objects, so a parameter named `__proto__` vanishes.
  t.throws(() => signLti11Request({ url: 'https://a.org/', consumerKey: 'k', consumerSecret: 's', formParams: [['__proto__', 'v']] }), { code: 'LTI11_SIGNING_INCONSISTENT', status: 500 })
  t.throws(() => signLti11Request({ url: 'https://a.org/?__proto__=1', consumerKey: 'k', consumerSecret: 's', body: '<x/>' }), { code: 'LTI11_SIGNING_INCONSISTENT' })
  // Other Object.prototype names are ordinary parameters.
  const signed = signLti11Request({ url: 'https://a.org/p', consumerKey: 'k', consumerSecret: 's', formParams: [['constructor', 'v'], ['toString', 'w']], now: NOW })
  t.doesNotThrow(() => verifyLti11Request({ method: 'POST', publicUrl: 'https://a.org', rawPath: '/p', body: signed.formParams, consumerSecret: 's', now: NOW }))
})
