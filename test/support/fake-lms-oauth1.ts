import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * OAuth 1.0a HMAC-SHA1 verification as the LMS's LTI provider does it (oauthlib over
 * `request.build_absolute_uri()`), written independently of the service's own signer so relay
 * tests check the signer against a second implementation of RFC 5849 §3.4.
 */

/** RFC 3986 unreserved characters stay; everything else is %XX over UTF-8 (RFC 5849 §3.6). */
export function rfc3986 (value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** Django's `escape_uri_path`: the decoded path re-quoted with safe characters "/:@&+$,-_.!~*'()". */
export function djangoEscapeUriPath (decodedPath: string): string {
  let out = ''
  for (const byte of Buffer.from(decodedPath, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += byte < 0x80 && /[A-Za-z0-9/:@&+$,\-_.!~*'()]/.test(c) ? c : '%' + byte.toString(16).toUpperCase().padStart(2, '0')
  }
  return out
}

/** scheme://host[:port]/path with lower-case scheme and host and default ports dropped (RFC 5849 §3.4.1.2). */
export function baseStringUri (origin: string, escapedPath: string): string {
  const u = new URL(origin)
  const defaultPort = (u.protocol === 'http:' && u.port === '80') || (u.protocol === 'https:' && u.port === '443') || u.port === ''
  return `${u.protocol}//${u.hostname.toLowerCase()}${defaultPort ? '' : ':' + u.port}${escapedPath}`
}

export function signatureBaseString (method: string, uri: string, params: ReadonlyArray<readonly [string, string]>): string {
  const normalized = params
    .filter(([k]) => k !== 'oauth_signature')
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0)
    .map(([k, v]) => `${k}=${v}`)
    .join('&')
  return [method.toUpperCase(), rfc3986(uri), rfc3986(normalized)].join('&')
}

export function hmacSha1Signature (baseString: string, consumerSecret: string, tokenSecret = ''): string {
  return createHmac('sha1', `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`).update(baseString).digest('base64')
}

export function signaturesEqual (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
