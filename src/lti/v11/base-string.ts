import { lti11Error } from './errors.js'
import { percentEncode } from './percent-encode.js'
import { parseFormEncoded, truncateName, type ParamPair } from './request-params.js'

/**
 * Base string URI of a request WE received (RFC 5849 §3.4.1.2): scheme and host of the configured
 * public URL (lower-cased, default port dropped by WHATWG URL), then its path prefix, then the path
 * exactly as it arrived. Never from Host / X-Forwarded-* headers: a caller must not choose the URL
 * we check its signature against (lti-checklist.md §1 #1).
 *
 * A path in `publicUrl` (`https://host/lti-tool`) is a prefix a reverse proxy strips before the
 * request reaches us, so it is put back in front of the received path.
 */
export function receivedBaseUri (publicUrl: string, rawPath: string): string {
  const base = new URL(publicUrl)
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError('publicUrl must be an http(s) URL')
  const prefix = base.pathname.replace(/\/+$/, '')
  const path = rawPath === '' ? '/' : rawPath
  if (!path.startsWith('/')) throw new TypeError('rawPath must start with "/"')
  // WHATWG URL lower-cases scheme and host and leaves `port` empty when it is the default.
  return `${base.protocol}//${base.host}${prefix}${path}`
}

/**
 * Base string URI and decoded query pairs of a request WE send (relay launch, outcome call). The
 * URL is normalized by WHATWG URL first, which is also what our HTTP client puts on the wire, so
 * the platform sees the same path we signed.
 */
export function outgoingBaseUri (url: string): { baseUri: string, queryPairs: ParamPair[] } {
  const parsed = new URL(url)
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('only http(s) URLs can be signed')
  return {
    baseUri: `${parsed.protocol}//${parsed.host}${parsed.pathname}`,
    queryPairs: parseFormEncoded(parsed.search.slice(1))
  }
}

/**
 * RFC 5849 §3.4.1.3.2: encode every name and value, sort by encoded name then encoded value
 * (byte order: encoded strings are ASCII), join with `=` and `&`. The caller removes
 * `oauth_signature` (and a header `realm`) beforehand.
 */
export function normalizedParameters (pairs: ReadonlyArray<ParamPair>): string {
  const encoded = pairs.map(([name, value]) => [encodeOrRefuse(name, name), encodeOrRefuse(value, name)] as const)
  encoded.sort((a, b) => compareAscii(a[0], b[0]) || compareAscii(a[1], b[1]))
  return encoded.map(([name, value]) => `${name}=${value}`).join('&')
}

/** RFC 5849 §3.4.1.1: `METHOD&enc(base URI)&enc(normalized parameters)`. */
export function signatureBaseString (method: string, baseUri: string, pairs: ReadonlyArray<ParamPair>): string {
  return `${method.toUpperCase()}&${percentEncode(baseUri)}&${percentEncode(normalizedParameters(pairs))}`
}

function compareAscii (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function encodeOrRefuse (value: string, name: string): string {
  try {
    return percentEncode(value)
  } catch {
    throw lti11Error('LTI11_MALFORMED_PARAM', { name: truncateName(name), reason: 'not valid Unicode text' })
  }
}
