/**
 * Signs LTI 1.1 launches with an implementation other than ours: the npm `ims-lti` package's
 * HMAC-SHA1 signer (omsmith), as a consumer such as Canvas or Moodle would.
 */
import { createRequire } from 'node:module'
import { parse as parseUrl } from 'node:url'
import { randomBytes } from 'node:crypto'

interface ImsSigner {
  build_signature_raw (reqUrl: string, parsedUrl: { query: unknown }, method: string, params: Record<string, string | string[]>, secret: string, token?: string): string
}
const require = createRequire(import.meta.url)
const HmacSha1 = require('ims-lti/lib/hmac-sha1') as new () => ImsSigner
const signer = new HmacSha1()

export interface SignedForm { body: string, params: Record<string, string> }

/** Returns the form body (urlencoded) of a signed launch to `url`. */
export function signLaunchWithImsLti (url: string, consumerKey: string, secret: string, launch: Record<string, string>, opts: { timestamp?: number, nonce?: string, method?: string } = {}): SignedForm {
  const params: Record<string, string> = {
    ...launch,
    oauth_consumer_key: consumerKey,
    oauth_nonce: opts.nonce ?? randomBytes(16).toString('hex'),
    oauth_signature_method: opts.method ?? 'HMAC-SHA1',
    oauth_timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    oauth_version: '1.0',
    oauth_callback: 'about:blank'
  }
  params.oauth_signature = signer.build_signature_raw(url, parseUrl(url, true), 'POST', params, secret)
  return { body: new URLSearchParams(params).toString(), params }
}

/** Reads the action and fields of an auto-submitting form page. */
export function parseAutoSubmit (html: string): { action: string, fields: Array<[string, string]> } {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
  const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1]
  if (action === undefined) throw new Error('no form in page')
  const fields: Array<[string, string]> = []
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields.push([unescape(m[1]!), unescape(m[2]!)])
  return { action: unescape(action), fields }
}
