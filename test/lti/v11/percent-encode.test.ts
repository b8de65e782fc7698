import fc from 'fast-check'
import t from 'tap'
import { normalizedParameters, signatureBaseString } from '../../../src/lti/v11/base-string.js'
import { percentEncode } from '../../../src/lti/v11/percent-encode.js'

t.test('RFC 3986 unreserved characters pass through, everything else is %XX upper-case', async t => {
  t.equal(percentEncode('AZaz09-._~'), 'AZaz09-._~')
  t.equal(percentEncode(" !\"#$%&'()*+,/:;=?@[]"), '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D')
  t.equal(percentEncode('é'), '%C3%A9')
  t.equal(percentEncode('😀'), '%F0%9F%98%80')
  t.equal(percentEncode(''), '')
  // RFC 5849 §3.6 examples via the §3.4.1.3.2 worked example (a3=2 q, c@, a2=r b, c2 empty).
  t.equal(normalizedParameters([['b5', '=%3D'], ['a3', 'a'], ['c@', ''], ['a2', 'r b'], ['oauth_consumer_key', '9djdj82h48djs9d2'], ['oauth_token', 'kkk9d7dh3k39sjv7'], ['oauth_signature_method', 'HMAC-SHA1'], ['oauth_timestamp', '137131201'], ['oauth_nonce', '7d8f3e4a'], ['c2', ''], ['a3', '2 q']]),
    'a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7')
  t.throws(() => percentEncode('\uD800'), URIError)
})

t.test('encoding of arbitrary Unicode: only unreserved and %XX, and it decodes back', async t => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 50 }), s => {
    const encoded = percentEncode(s)
    return /^(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})*$/.test(encoded) && decodeURIComponent(encoded) === s &&
      encoded === Array.from(Buffer.from(s, 'utf8')).map(byte => /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : '%' + byte.toString(16).toUpperCase().padStart(2, '0')).join('')
  }), { numRuns: 1000 })
  t.pass('1000 random strings, checked against a byte-wise reference encoder')
})

t.test('parameter order: encoded name, then encoded value, byte order', async t => {
  fc.assert(fc.property(fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 5 })), { maxLength: 10 }), pairs => {
    const shuffled = [...pairs].reverse()
    return normalizedParameters(pairs) === normalizedParameters(shuffled)
  }))
  t.equal(normalizedParameters([['a', 'b'], ['a', 'B'], ['A', 'z'], ['a', '']]), 'A=z&a=&a=B&a=b')
  t.equal(normalizedParameters([['a-b', '1'], ['a', '1'], ['a_b', '1'], ['a1', '1']]), 'a=1&a-b=1&a1=1&a_b=1', 'by name first, not by the joined "name=value" text')
  t.equal(signatureBaseString('get', 'http://x.org/a b', [['k', 'v w']]), 'GET&http%3A%2F%2Fx.org%2Fa%20b&k%3Dv%2520w')
})
