import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseOAuthParams, parseAuthorizationHeader } from '../../../src/lti/v11/oauth-params.js'
import { signLti11Request } from '../../../src/lti/v11/oauth-sign.js'
import { verifyLti11Request, type VerifyLti11Input } from '../../../src/lti/v11/oauth-verify.js'

const NOW = new Date('2026-11-23T12:00:00Z')
const TS = Math.floor(NOW.getTime() / 1000)
const PUBLIC_URL = 'https://tool.example.org'
const PATH = '/lti_provider/courses/course-v1:Org+C1+R1/block-v1:Org+C1+R1+type@problem+block@p1'
const SECRET = 'консумер-secret & more'
const launch: Array<[string, string]> = [
  ['lti_message_type', 'basic-lti-launch-request'],
  ['lti_version', 'LTI-1p0'],
  ['resource_link_id', 'rl-1'],
  ['user_id', 'u-1'],
  ['roles', 'Learner'],
  ['context_id', 'ctx']
]

function signedLaunch (overrides: Partial<Parameters<typeof signLti11Request>[0]> = {}) {
  return signLti11Request({ url: PUBLIC_URL + PATH, consumerKey: 'key-1', consumerSecret: SECRET, formParams: launch, timestamp: TS, callback: 'about:blank', ...overrides })
}

function input (body: Array<readonly [string, string]>, overrides: Partial<VerifyLti11Input> = {}): VerifyLti11Input {
  return { method: 'POST', publicUrl: PUBLIC_URL, rawPath: PATH, body, consumerSecret: SECRET, now: NOW, ...overrides }
}

function replace (body: ReadonlyArray<readonly [string, string]>, name: string, value: string | undefined): Array<readonly [string, string]> {
  const kept = body.filter(([n]) => n !== name)
  return value === undefined ? kept : [...kept, [name, value]]
}

t.test('a freshly signed launch verifies and reports the skew', async t => {
  const signed = signedLaunch({ timestamp: TS - 42 })
  t.same(verifyLti11Request(input(signed.formParams)), {
    consumerKey: 'key-1', nonce: signed.oauthParams.oauth_nonce, timestamp: TS - 42, skewSeconds: 42, signatureMethod: 'HMAC-SHA1'
  })
  t.match(signed.oauthParams.oauth_nonce, /^[0-9a-f]{32}$/, 'default nonce: 16 random bytes')
  t.not(signedLaunch().oauthParams.oauth_nonce, signedLaunch().oauthParams.oauth_nonce, 'nonces differ')
})

t.test('every signed parameter is covered: changing, adding or removing one breaks the signature', async t => {
  const body = signedLaunch().formParams
  t.throws(() => verifyLti11Request(input(replace(body, 'user_id', 'u-2'))), { code: 'LTI11_BAD_SIGNATURE', status: 401 })
  t.throws(() => verifyLti11Request(input([...body, ['custom_extra', '1']])), { code: 'LTI11_BAD_SIGNATURE' })
  t.throws(() => verifyLti11Request(input(replace(body, 'roles', undefined))), { code: 'LTI11_BAD_SIGNATURE' })
  t.throws(() => verifyLti11Request(input(replace(body, 'oauth_callback', undefined))), { code: 'LTI11_BAD_SIGNATURE' })
  t.throws(() => verifyLti11Request(input(body, { method: 'PUT' })), { code: 'LTI11_BAD_SIGNATURE' }, 'method')
  t.throws(() => verifyLti11Request(input(body, { rawPath: PATH + 'x' })), { code: 'LTI11_BAD_SIGNATURE' }, 'path')
  t.throws(() => verifyLti11Request(input(body, { rawPath: PATH + '?a=1' })), { code: 'LTI11_BAD_SIGNATURE' }, 'extra query')
  t.throws(() => verifyLti11Request(input(body, { publicUrl: 'https://evil.example.org' })), { code: 'LTI11_BAD_SIGNATURE' }, 'host')
})

t.test('the signature is compared as decoded bytes; malformed base64 is just a bad signature', async t => {
  const body = signedLaunch().formParams
  const signature = body.find(([n]) => n === 'oauth_signature')![1]
  for (const bad of [signature.slice(0, -2), signature + 'AAAA', signature.replace(/=$/, ''), signature + ' ', 'not base64 at all', Buffer.alloc(32).toString('base64')]) {
    t.throws(() => verifyLti11Request(input(replace(body, 'oauth_signature', bad))), { code: 'LTI11_BAD_SIGNATURE' }, JSON.stringify(bad))
  }
})

t.test('required protocol parameters', async t => {
  const body = signedLaunch().formParams
  for (const name of ['oauth_consumer_key', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_nonce']) {
    t.throws(() => verifyLti11Request(input(replace(body, name, undefined))), { code: 'LTI11_MISSING_PARAM', status: 400, details: { name } }, `${name} missing`)
    t.throws(() => verifyLti11Request(input(replace(body, name, ''))), { code: 'LTI11_MISSING_PARAM', details: { name } }, `${name} empty`)
  }
})

t.test('a repeated protocol parameter is refused, in one place or across places', async t => {
  const body = signedLaunch().formParams
  t.throws(() => verifyLti11Request(input([...body, ['oauth_nonce', 'again']])), { code: 'LTI11_DUPLICATE_PARAM', status: 400, details: { name: 'oauth_nonce' } })
  t.throws(() => verifyLti11Request(input(body, { rawPath: PATH + '?oauth_timestamp=' + TS })), { code: 'LTI11_DUPLICATE_PARAM', details: { name: 'oauth_timestamp' } })
  t.throws(() => verifyLti11Request(input(body, { authorization: 'OAuth oauth_consumer_key="key-1"' })), { code: 'LTI11_DUPLICATE_PARAM', details: { name: 'oauth_consumer_key' } })
  t.throws(() => parseOAuthParams({ rawPath: '/', body: { oauth_signature: ['a', 'b'] } }), { code: 'LTI11_DUPLICATE_PARAM' }, 'record with an array value')
  t.doesNotThrow(() => verifyLti11Request(input(signedLaunch({ formParams: [...launch, ['ext_x', '1'], ['ext_x', '2']] }).formParams)), 'repeated non-protocol names are fine here')
})

t.test('oauth_version must be 1.0 when present, and may be absent', async t => {
  t.throws(() => verifyLti11Request(input(replace(signedLaunch().formParams, 'oauth_version', '2.0'))), { code: 'LTI11_BAD_OAUTH_VERSION', status: 400 })
  t.doesNotThrow(() => verifyLti11Request(input(signedLaunch({ includeVersion: false }).formParams)))
})

t.test('signature methods: HMAC-SHA1 always, HMAC-SHA256 only when allowed, others never', async t => {
  const sha256 = signedLaunch({ signatureMethod: 'HMAC-SHA256' }).formParams
  t.throws(() => verifyLti11Request(input(sha256)), { code: 'LTI11_SIGNATURE_METHOD_NOT_ALLOWED', status: 401, details: { method: 'HMAC-SHA256' } })
  t.equal(verifyLti11Request(input(sha256, { allowedMethods: ['HMAC-SHA256'] })).signatureMethod, 'HMAC-SHA256')
  t.equal(verifyLti11Request(input(signedLaunch().formParams, { allowedMethods: ['HMAC-SHA256'] })).signatureMethod, 'HMAC-SHA1', 'SHA1 stays allowed')
  // A SHA-256 MAC relabelled SHA-1 must not pass (the label is signed and the digest length differs).
  t.throws(() => verifyLti11Request(input(replace(sha256, 'oauth_signature_method', 'HMAC-SHA1'))), { code: 'LTI11_BAD_SIGNATURE' })
  for (const method of ['PLAINTEXT', 'RSA-SHA1', 'HMAC-SHA512', 'hmac-sha1', 'constructor', '__proto__']) {
    const body = replace(signedLaunch().formParams, 'oauth_signature_method', method)
    t.throws(() => verifyLti11Request(input(body, { allowedMethods: ['PLAINTEXT', 'RSA-SHA1', 'HMAC-SHA512', 'constructor', '__proto__'] })),
      { code: 'LTI11_SIGNATURE_METHOD_NOT_ALLOWED', status: 401 }, method)
  }
})

t.test('timestamp window (default ±300 s, per consumer) with the skew in the details', async t => {
  t.doesNotThrow(() => verifyLti11Request(input(signedLaunch({ timestamp: TS - 300 }).formParams)), 'edge of the window, past')
  t.doesNotThrow(() => verifyLti11Request(input(signedLaunch({ timestamp: TS + 300 }).formParams)), 'edge of the window, future')
  t.throws(() => verifyLti11Request(input(signedLaunch({ timestamp: TS - 301 }).formParams)), { code: 'LTI11_STALE_TIMESTAMP', status: 401, details: { skewSeconds: 301, windowSeconds: 300 } })
  t.throws(() => verifyLti11Request(input(signedLaunch({ timestamp: TS + 301 }).formParams)), { code: 'LTI11_STALE_TIMESTAMP', details: { skewSeconds: -301 } })
  t.doesNotThrow(() => verifyLti11Request(input(signedLaunch({ timestamp: TS - 500 }).formParams, { windowSeconds: 600 })))
  t.throws(() => verifyLti11Request(input(signedLaunch({ timestamp: TS - 61 }).formParams, { windowSeconds: 60 })), { code: 'LTI11_STALE_TIMESTAMP' })
  for (const bad of ['1.5e9', '-1', ' 1700000000', '0x10', '17000000000000']) {
    t.throws(() => verifyLti11Request(input(replace(signedLaunch().formParams, 'oauth_timestamp', bad))), { code: 'LTI11_MALFORMED_PARAM', status: 400, details: { name: 'oauth_timestamp' } }, bad)
  }
})

t.test('nonce and consumer key lengths are bounded by their storage', async t => {
  t.doesNotThrow(() => verifyLti11Request(input(signedLaunch({ nonce: 'n'.repeat(128) }).formParams)))
  t.throws(() => verifyLti11Request(input(signedLaunch({ nonce: 'n'.repeat(129) }).formParams)), { code: 'LTI11_MALFORMED_PARAM', details: { name: 'oauth_nonce' } })
  t.throws(() => parseOAuthParams({ rawPath: '/', body: replace(signedLaunch().formParams, 'oauth_consumer_key', 'k'.repeat(256)) }), { code: 'LTI11_MALFORMED_PARAM', details: { name: 'oauth_consumer_key' } })
})

t.test('parseOAuthParams reads the key before any verification', async t => {
  const signed = signedLaunch()
  const parsed = parseOAuthParams({ rawPath: PATH, body: Object.fromEntries(signed.formParams) })
  t.same(parsed, {
    consumerKey: 'key-1', signature: signed.oauthParams.oauth_signature, signatureMethod: 'HMAC-SHA1', timestamp: TS,
    nonce: signed.oauthParams.oauth_nonce, version: '1.0', callback: 'about:blank', token: undefined, bodyHash: undefined
  })
})

t.test('a path prefix in PUBLIC_URL is put back in front of the received path', async t => {
  const signed = signLti11Request({ url: 'https://tool.example.org/lti-tool/launch', consumerKey: 'key-1', consumerSecret: SECRET, formParams: launch, timestamp: TS })
  t.doesNotThrow(() => verifyLti11Request(input(signed.formParams, { publicUrl: 'https://tool.example.org/lti-tool/', rawPath: '/launch' })))
})

t.test('query string: raw in rawPath, raw via `query`, or pre-parsed; never counted twice', async t => {
  const signed = signLti11Request({ url: `${PUBLIC_URL}/launch?a=1+2&b=%C3%A9&a=x`, consumerKey: 'key-1', consumerSecret: SECRET, formParams: launch, timestamp: TS })
  const base = { ...input(signed.formParams), rawPath: '/launch' }
  t.doesNotThrow(() => verifyLti11Request({ ...base, rawPath: '/launch?a=1+2&b=%C3%A9&a=x' }), 'raw target, + is a space')
  t.doesNotThrow(() => verifyLti11Request({ ...base, query: '?a=1%202&b=%C3%A9&a=x' }), 'raw query string')
  t.doesNotThrow(() => verifyLti11Request({ ...base, query: { a: ['1 2', 'x'], b: 'é' } }), 'parsed record')
  t.throws(() => verifyLti11Request({ ...base, rawPath: '/launch?a=1', query: { a: '1' } }), TypeError)
})

t.test('Authorization header parsing (RFC 5849 §3.5.1)', async t => {
  t.same(parseAuthorizationHeader('OAuth realm="x", oauth_a="1%202",oauth_b="", \t oauth_c = "%2B"'), [['oauth_a', '1 2'], ['oauth_b', ''], ['oauth_c', '+']])
  t.same(parseAuthorizationHeader('oauth'), [])
  for (const bad of ['Bearer abc', 'OAuth oauth_a=1', 'OAuth oauth_a="1" oauth_b="2"', 'OAuth foo="1"', 'OAuth oauth_a="%E0%A4%A"', 'OAuthx oauth_a="1"']) {
    t.throws(() => parseAuthorizationHeader(bad), { code: 'LTI11_MALFORMED_PARAM', details: { name: 'Authorization' } }, bad)
  }
})

t.test('non-string and non-Unicode parameter values are refused as malformed', async t => {
  t.throws(() => parseOAuthParams({ rawPath: '/', body: { oauth_nonce: 5 } as unknown as Record<string, string> }), { code: 'LTI11_MALFORMED_PARAM' })
  t.throws(() => parseOAuthParams({ rawPath: '/', body: [['a']] as unknown as Array<[string, string]> }), { code: 'LTI11_MALFORMED_PARAM' })
  const body = [...signedLaunch().formParams, ['custom_bad', 'x\uD800y'] as const]
  t.throws(() => verifyLti11Request(input(body)), { code: 'LTI11_MALFORMED_PARAM', details: { name: 'custom_bad' } })
})

// Recorded launches from another implementation's test suite (harvard-edtech/caccl-lti), 2018.
const caccl = JSON.parse(readFileSync(new URL('../../fixtures/lti11/caccl-launches.json', import.meta.url), 'utf8')) as {
  publicUrl: string, rawPath: string, consumerSecret: string
  valid: Array<{ body: Record<string, string>, oauth_signature: string }>
  invalid: Array<{ body: Record<string, string>, oauth_signature: string }>
}

t.test('recorded launches (caccl-lti): valid ones verify, invalid ones are refused', async t => {
  const verify = (example: { body: Record<string, string>, oauth_signature: string }) => verifyLti11Request({
    method: 'POST',
    publicUrl: caccl.publicUrl,
    rawPath: caccl.rawPath,
    body: { ...example.body, oauth_signature: example.oauth_signature },
    consumerSecret: caccl.consumerSecret,
    now: new Date(Number(example.body.oauth_timestamp) * 1000)
  })
  t.ok(caccl.valid.length >= 4 && caccl.invalid.length >= 3)
  for (const example of caccl.valid) t.equal(verify(example).nonce, example.body.oauth_nonce)
  for (const example of caccl.invalid) t.throws(() => verify(example), { code: 'LTI11_BAD_SIGNATURE' })
})
