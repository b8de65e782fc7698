import { readFileSync } from 'node:fs'
import t from 'tap'
import { oauthBodyHash } from '../../../src/lti/v11/body-hash.js'
import { signLti11Request } from '../../../src/lti/v11/oauth-sign.js'
import { lti11SignatureBaseString, verifyLti11Request } from '../../../src/lti/v11/oauth-verify.js'
import { buildReplaceResultRequest } from '../../../src/lti/v11/outcomes.js'

// Published / independently computed vectors (docs/wire-formats.md §2–§3), copied as fixtures.
interface Vector {
  method: string
  url: string
  publicUrl: string
  rawPath: string
  consumerKey: string
  consumerSecret: string
  token?: { key: string, secret: string }
  oauth: Record<string, string>
  form?: Array<[string, string]>
  baseString: string
  signature: string
}
const fixture = (name: string): Buffer => readFileSync(new URL(`../../fixtures/lti11/${name}`, import.meta.url))
const vectors = JSON.parse(fixture('oauth-vectors.json').toString('utf8')) as {
  A: Vector, B: Vector, C: Vector
  D: Vector & { bodyFile: string, bodyBytes: number, bodyHash: string, signatureWithoutQuery: string, messageIdentifier: string, sourcedId: string, score: number }
  bodyHashDraft: { body: string, bodyHash: string }
}
const vectorDBody = fixture(vectors.D.bodyFile)
const at = (v: Vector): Date => new Date(Number(v.oauth.oauth_timestamp) * 1000)

/** The form body a consumer would POST: its parameters plus every protocol parameter and the signature. */
function receivedBody (v: Vector): Array<[string, string]> {
  return [...(v.form ?? []), ...protocolPairs(v), ['oauth_signature', v.signature]]
}

function protocolPairs (v: Vector): Array<[string, string]> {
  return [['oauth_consumer_key', v.consumerKey], ...Object.entries(v.oauth), ...(v.token !== undefined ? [['oauth_token', v.token.key] as [string, string]] : [])]
}

function signVector (v: Vector, extra: { body?: Buffer } = {}) {
  return signLti11Request({
    method: v.method,
    url: v.url,
    consumerKey: v.consumerKey,
    consumerSecret: v.consumerSecret,
    ...(v.form !== undefined && v.form.length > 0 ? { formParams: v.form } : {}),
    ...(extra.body !== undefined ? { body: extra.body } : {}),
    nonce: v.oauth.oauth_nonce as string,
    timestamp: Number(v.oauth.oauth_timestamp),
    includeVersion: v.oauth.oauth_version !== undefined,
    ...(v.oauth.oauth_callback !== undefined ? { callback: v.oauth.oauth_callback } : {}),
    ...(v.token !== undefined ? { token: v.token } : {})
  })
}

t.test('fixtures are the documented bytes', async t => {
  t.equal(vectorDBody.length, vectors.D.bodyBytes, 'Vector D body is 587 bytes')
  t.notOk(vectorDBody.includes('\n'), 'one line, no trailing newline')
})

for (const name of ['A', 'B', 'C'] as const) {
  const v = vectors[name]
  t.test(`Vector ${name}: our signer produces the published signature`, async t => {
    const signed = signVector(v)
    t.equal(signed.oauthParams.oauth_signature, v.signature)
    for (const [key, value] of Object.entries(v.oauth)) t.equal(signed.oauthParams[key], value, key)
  })

  t.test(`Vector ${name}: our verifier builds the published base string and accepts the signature`, async t => {
    const request = { method: v.method, publicUrl: v.publicUrl, rawPath: v.rawPath, body: receivedBody(v) }
    t.equal(lti11SignatureBaseString(request), v.baseString)
    const verified = verifyLti11Request({ ...request, consumerSecret: v.consumerSecret, ...(v.token !== undefined ? { tokenSecret: v.token.secret } : {}), now: at(v) })
    t.same(verified, {
      consumerKey: v.consumerKey,
      nonce: v.oauth.oauth_nonce,
      timestamp: Number(v.oauth.oauth_timestamp),
      skewSeconds: 0,
      signatureMethod: 'HMAC-SHA1'
    })
  })

  t.test(`Vector ${name}: a wrong secret is refused`, async t => {
    t.throws(() => verifyLti11Request({
      method: v.method, publicUrl: v.publicUrl, rawPath: v.rawPath, body: receivedBody(v), consumerSecret: v.consumerSecret + 'x', ...(v.token !== undefined ? { tokenSecret: v.token.secret } : {}), now: at(v)
    }), { code: 'LTI11_BAD_SIGNATURE', status: 401 })
  })
}

t.test('Vector A: the `+` of the course key is literal in the path and %2B in the base string', async t => {
  t.match(vectors.A.baseString, /course-v1%3AOrg%2BC1%2BR1/)
  // The same launch received at a percent-encoded path is a different URL: it must not verify.
  t.throws(() => verifyLti11Request({
    method: 'POST', publicUrl: vectors.A.publicUrl, rawPath: vectors.A.rawPath.replace(/\+/g, '%2B'), body: receivedBody(vectors.A), consumerSecret: vectors.A.consumerSecret, now: at(vectors.A)
  }), { code: 'LTI11_BAD_SIGNATURE' })
})

t.test('Vector A: public URL normalization (host case, default port) does not change the base string', async t => {
  for (const publicUrl of ['https://TOOL.Example.org', 'https://tool.example.org:443', 'https://tool.example.org/']) {
    t.equal(lti11SignatureBaseString({ method: 'post', publicUrl, rawPath: vectors.A.rawPath, body: receivedBody(vectors.A) }), vectors.A.baseString, publicUrl)
  }
  t.not(lti11SignatureBaseString({ method: 'POST', publicUrl: 'https://tool.example.org:8443', rawPath: vectors.A.rawPath, body: receivedBody(vectors.A) }), vectors.A.baseString, 'a non-default port is part of the URL')
  t.not(lti11SignatureBaseString({ method: 'POST', publicUrl: 'http://tool.example.org', rawPath: vectors.A.rawPath, body: receivedBody(vectors.A) }), vectors.A.baseString, 'the scheme is part of the URL')
})

t.test('Vector B: the same parameters verify whether they come in the query, the body or the header', async t => {
  const v = vectors.B
  const oauthPairs: Array<[string, string]> = [...protocolPairs(v), ['oauth_signature', v.signature]]
  const common = { method: 'GET', publicUrl: v.publicUrl, consumerSecret: v.consumerSecret, tokenSecret: v.token!.secret, now: at(v) }
  const inQuery = `/photos?file=vacation.jpg&size=original&${new URLSearchParams(oauthPairs).toString()}`
  t.equal(verifyLti11Request({ ...common, rawPath: inQuery }).consumerKey, v.consumerKey, 'query')
  t.equal(verifyLti11Request({ ...common, rawPath: v.rawPath, body: oauthPairs }).consumerKey, v.consumerKey, 'body')
  const header = 'OAuth realm="Photos", ' + oauthPairs.map(([k, val]) => `${k}="${encodeURIComponent(val)}"`).join(', ')
  t.equal(verifyLti11Request({ ...common, rawPath: v.rawPath, authorization: header }).consumerKey, v.consumerKey, 'header (realm excluded)')
})

t.test('Vector C: the repeated query key is signed twice and verifies', async t => {
  t.match(vectors.C.baseString, /foo%3D123%26foo%3Dbar/)
  const withoutOne = vectors.C.rawPath.replace('&foo=bar', '')
  t.throws(() => verifyLti11Request({
    method: 'POST', publicUrl: vectors.C.publicUrl, rawPath: withoutOne, body: receivedBody(vectors.C), consumerSecret: vectors.C.consumerSecret, now: at(vectors.C)
  }), { code: 'LTI11_BAD_SIGNATURE' }, 'dropping one repeated value breaks the signature')
})

t.test('Vector D: replaceResult body, body hash, header and signature', async t => {
  const v = vectors.D
  t.equal(buildReplaceResultRequest({ messageIdentifier: v.messageIdentifier, sourcedId: v.sourcedId, score: v.score }), vectorDBody.toString('utf8'), 'our builder emits the exact bytes')
  t.equal(oauthBodyHash(vectorDBody), v.bodyHash)
  t.equal(oauthBodyHash(vectors.bodyHashDraft.body), vectors.bodyHashDraft.bodyHash, 'OAuth body hash draft vector')

  const signed = signVector(v, { body: vectorDBody })
  t.equal(signed.bodyHash, v.bodyHash)
  t.equal(signed.oauthParams.oauth_signature, v.signature, 'query x=1 is signed')
  t.match(signed.authorizationHeader, /^OAuth oauth_body_hash="%2FUsndaygs5hFYhA8WrUAAaWaBnQ%3D", oauth_consumer_key="test-key", /)
  t.match(signed.authorizationHeader, `oauth_signature="${encodeURIComponent(v.signature)}"`)
  t.notMatch(signed.authorizationHeader, /x=/, 'query parameters stay in the URL, not in the header')

  const noQuery = signLti11Request({ url: v.url.replace('?x=1', ''), consumerKey: v.consumerKey, consumerSecret: v.consumerSecret, body: vectorDBody, nonce: v.oauth.oauth_nonce, timestamp: Number(v.oauth.oauth_timestamp) })
  t.equal(noQuery.oauthParams.oauth_signature, v.signatureWithoutQuery, 'negative check: without x=1')

  const request = { method: 'POST', publicUrl: v.publicUrl, rawPath: v.rawPath, authorization: signed.authorizationHeader }
  t.equal(lti11SignatureBaseString(request), v.baseString)
  const verified = verifyLti11Request({ ...request, consumerSecret: v.consumerSecret, rawBody: vectorDBody, now: at(v) })
  t.equal(verified.nonce, v.oauth.oauth_nonce)
  t.throws(() => verifyLti11Request({ ...request, consumerSecret: v.consumerSecret, rawBody: Buffer.from(vectorDBody.toString().replace('0.85', '0.95')), now: at(v) }),
    { code: 'LTI11_BAD_BODY_HASH', status: 401 }, 'a changed score breaks the body hash')
  t.throws(() => verifyLti11Request({ ...request, consumerSecret: v.consumerSecret, now: at(v) }), { code: 'LTI11_BAD_BODY_HASH' }, 'no body to check')
})
