import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import OAuth from 'oauth-1.0a'
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

t.test('our signer agrees with the independent oauth-1.0a package over random requests (signature and header)', async t => {
  // The package keeps the URL's case and default port and merges repeated names through plain
  // objects, so it gets what the old run-time cross-check gave it: the normalized base URI and every
  // parameter pre-decoded, grouped by name.
  const reference = (url: string, method: string, params: Array<[string, string]>, consumerSecret: string, signatureMethod: 'HMAC-SHA1' | 'HMAC-SHA256', oauthParams: Record<string, string>) => {
    const oauth = new OAuth({
      consumer: { key: 'k', secret: consumerSecret },
      signature_method: signatureMethod,
      hash_function: (base, key) => createHmac(signatureMethod === 'HMAC-SHA1' ? 'sha1' : 'sha256', key).update(base, 'utf8').digest('base64')
    })
    const parsed = new URL(url)
    const data: Record<string, string[]> = Object.create(null)
    for (const [n, v] of [...params, ...new URLSearchParams(parsed.search), ...Object.entries(oauthParams).filter(([n]) => n !== 'oauth_signature')]) (data[n] ??= []).push(v)
    const request = { url: `${parsed.protocol}//${parsed.host}${parsed.pathname}`, method, data }
    return { signature: oauth.getSignature(request, undefined, {} as OAuth.Data), header: oauth.toHeader(oauthParams as unknown as OAuth.Authorization).Authorization }
  }
  let compared = 0
  fc.assert(fc.property(pairs, pairs, fc.array(pathSegment, { minLength: 1, maxLength: 4 }), text, fc.constantFrom('HMAC-SHA1', 'HMAC-SHA256') as fc.Arbitrary<'HMAC-SHA1' | 'HMAC-SHA256'>, fc.constantFrom('POST', 'get'), fc.boolean(),
    (form, query, segments, consumerSecret, signatureMethod, method, withBody) => {
      const search = query.length === 0 ? '' : '?' + new URLSearchParams(query).toString()
      const url = `https://LMS.Example.edu:443/${segments.join('/')}${search}`
      const signed = withBody
        ? signLti11Request({ url, method, consumerKey: 'k', consumerSecret, body: 'x' + consumerSecret, signatureMethod, now: NOW })
        : signLti11Request({ url, method, consumerKey: 'k', consumerSecret, formParams: form, signatureMethod, callback: 'about:blank', now: NOW })
      const expected = reference(url, method.toUpperCase(), withBody ? [] : form, consumerSecret, signatureMethod, signed.oauthParams)
      compared++
      return signed.oauthParams.oauth_signature === expected.signature && signed.authorizationHeader === expected.header
    }), { numRuns: 500 })
  t.equal(compared, 500, '500 random requests compared')
})

t.test('a parameter named like an Object.prototype member is an ordinary parameter (oauth-1.0a loses `__proto__`)', async t => {
  for (const names of [['__proto__'], ['constructor', 'toString']]) {
    const signed = signLti11Request({ url: 'https://a.org/p?__proto__=1', consumerKey: 'k', consumerSecret: 's', formParams: names.map(n => [n, 'v'] as [string, string]), now: NOW })
    t.doesNotThrow(() => verifyLti11Request({ method: 'POST', publicUrl: 'https://a.org', rawPath: '/p?__proto__=1', body: signed.formParams, consumerSecret: 's', now: NOW }), names.join(','))
    t.throws(() => verifyLti11Request({ method: 'POST', publicUrl: 'https://a.org', rawPath: '/p', body: signed.formParams, consumerSecret: 's', now: NOW }), { code: 'LTI11_BAD_SIGNATURE' }, 'the query `__proto__` is signed')
  }
})
