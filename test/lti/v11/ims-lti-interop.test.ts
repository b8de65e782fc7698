import { createRequire } from 'node:module'
import { parse as parseUrl } from 'node:url'
import fc from 'fast-check'
import t from 'tap'
import { signLti11Request } from '../../../src/lti/v11/oauth-sign.js'
import { verifyLti11Request } from '../../../src/lti/v11/oauth-verify.js'
import { buildReplaceResultRequest } from '../../../src/lti/v11/outcomes.js'

// Cross-check with an independent implementation: the npm `ims-lti` package (omsmith), CommonJS
// without types, so it is loaded through require and described by the little we use.
interface ImsSigner {
  build_signature_raw (reqUrl: string, parsedUrl: { query: unknown }, method: string, params: Record<string, string | string[]>, secret: string, token?: string): string
}
interface ImsLti {
  Provider: new (key: string, secret: string) => { valid_request (req: unknown, body: unknown, cb: (err: Error | null, valid: boolean) => void): void }
  OutcomeService: new (options: Record<string, unknown>) => { _build_headers (body: string): { Authorization: string } }
}
const require = createRequire(import.meta.url)
const imsLti = require('ims-lti') as ImsLti
const HmacSha1 = require('ims-lti/lib/hmac-sha1') as new () => ImsSigner
const imsSigner = new HmacSha1()

const NOW = new Date('2026-11-23T12:00:00Z')
const TS = Math.floor(NOW.getTime() / 1000)
const PUBLIC_URL = 'https://tool.example.org'
const PATH = '/lti_provider/courses/course-v1:Org+C1+R1/block-v1:Org+C1+R1+type@problem+block@p1'

// ims-lti sorts `name=value` strings and neither encodes names nor the secret, so it agrees with
// RFC 5849 only for names of [a-z_] and secrets of unreserved characters: generate within that.
// `__proto__` is left to oauth-sign.test.ts, where the signer's refusal of it is asserted.
const name = fc.stringMatching(/^[a-z_]{1,12}$/).filter(n => !n.startsWith('oauth_') && n !== '__proto__')
const value = fc.string({ unit: 'binary', maxLength: 24 })
const params = fc.array(fc.tuple(name, value), { maxLength: 12 })
const secret = fc.stringMatching(/^[A-Za-z0-9\-._~]{1,32}$/)
const query = fc.array(fc.tuple(name, fc.string({ unit: 'grapheme', maxLength: 10 })), { maxLength: 3 })

function grouped (pairs: ReadonlyArray<readonly [string, string]>): Record<string, string | string[]> {
  const out: Record<string, string[]> = Object.create(null)
  for (const [k, v] of pairs) (out[k] ??= []).push(v)
  return out
}

t.test('requests signed by ims-lti verify with our verifier', async t => {
  fc.assert(fc.property(params, query, secret, fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme-ascii' }), (form, q, consumerSecret, nonce) => {
    const search = q.length === 0 ? '' : '?' + new URLSearchParams(q).toString()
    const url = PUBLIC_URL + PATH + search
    const protocol = { oauth_consumer_key: 'key-1', oauth_nonce: nonce, oauth_signature_method: 'HMAC-SHA1', oauth_timestamp: String(TS), oauth_version: '1.0' }
    const body = { ...grouped(form), ...protocol }
    const signature = imsSigner.build_signature_raw(PUBLIC_URL + PATH, parseUrl(url, true), 'POST', body, consumerSecret)
    const verified = verifyLti11Request({
      method: 'POST', publicUrl: PUBLIC_URL, rawPath: PATH + search, body: { ...body, oauth_signature: signature }, consumerSecret, now: NOW
    })
    return verified.nonce === nonce
  }), { numRuns: 300 })
  t.pass('300 random requests')
})

t.test('requests signed by us carry the signature ims-lti computes', async t => {
  fc.assert(fc.property(params, query, secret, (form, q, consumerSecret) => {
    const search = q.length === 0 ? '' : '?' + new URLSearchParams(q).toString()
    const signed = signLti11Request({ url: PUBLIC_URL + PATH + search, consumerKey: 'key-1', consumerSecret, formParams: form, timestamp: TS, callback: 'about:blank' })
    const body = grouped(signed.formParams.filter(([n]) => n !== 'oauth_signature'))
    const theirs = imsSigner.build_signature_raw(PUBLIC_URL + PATH, parseUrl(PUBLIC_URL + PATH + search, true), 'POST', body, consumerSecret)
    return theirs === signed.oauthParams.oauth_signature
  }), { numRuns: 300 })
  t.pass('300 random requests')
})

t.test('ims-lti Provider accepts a launch we signed (its full request check, nonce store included)', async t => {
  const form: Array<[string, string]> = [
    ['lti_message_type', 'basic-lti-launch-request'], ['lti_version', 'LTI-1p0'], ['resource_link_id', 'rl-1'],
    ['user_id', 'u-1'], ['roles', 'Learner'], ['context_id', 'ctx'], ['custom_note', 'a b&c=d/é']
  ]
  const signed = signLti11Request({ url: PUBLIC_URL + PATH, consumerKey: 'key-1', consumerSecret: 'secret-1', formParams: form, callback: 'about:blank' })
  const check = (consumerSecret: string) => new Promise<boolean>(resolve => {
    const provider = new imsLti.Provider('key-1', consumerSecret)
    const req = { protocol: 'https', url: PATH, method: 'POST', headers: { host: 'tool.example.org' }, connection: {} }
    provider.valid_request(req, Object.fromEntries(signed.formParams), (_err, valid) => resolve(valid))
  })
  t.equal(await check('secret-1'), true)
  t.equal(await check('secret-2'), false, 'and refuses it under another secret')
})

t.test('outcome calls: our body-hash signature equals ims-lti\'s, and ims-lti\'s header verifies with us', async t => {
  const serviceUrl = 'https://lms.example.edu/courses/course-v1:Org+C1+R1/xblock/block-v1:Org+C1+R1+type@lti+block@x/handler_noauth/outcome_service_handler?x=1&y=a%20b'
  const xml = buildReplaceResultRequest({ messageIdentifier: 'm-1', sourcedId: 'course-v1%3AOrg%2BC1%2BR1:block@x:abc', score: 0.5 })

  const ours = signLti11Request({ url: serviceUrl, consumerKey: 'key-1', consumerSecret: 'secret-1', body: xml, nonce: 'n-1', timestamp: TS })
  const parts = parseUrl(serviceUrl, true)
  const headers = { oauth_version: '1.0', oauth_nonce: 'n-1', oauth_timestamp: String(TS), oauth_consumer_key: 'key-1', oauth_body_hash: ours.bodyHash as string, oauth_signature_method: 'HMAC-SHA1' }
  t.equal(imsSigner.build_signature_raw(`${parts.protocol}//${parts.host}${parts.pathname}`, parts, 'POST', headers, 'secret-1'), ours.oauthParams.oauth_signature)

  const service = new imsLti.OutcomeService({ consumer_key: 'key-1', consumer_secret: 'secret-1', service_url: serviceUrl, source_did: 's' })
  const theirHeader = service._build_headers(xml).Authorization
  const verified = verifyLti11Request({
    method: 'POST', publicUrl: 'https://lms.example.edu', rawPath: parts.path as string, authorization: theirHeader, rawBody: xml, consumerSecret: 'secret-1', now: new Date()
  })
  t.equal(verified.consumerKey, 'key-1')
  t.throws(() => verifyLti11Request({
    method: 'POST', publicUrl: 'https://lms.example.edu', rawPath: parts.path as string, authorization: theirHeader, rawBody: xml.replace('0.5', '0.9'), consumerSecret: 'secret-1', now: new Date()
  }), { code: 'LTI11_BAD_BODY_HASH' })
})
