import { lti11Error } from './errors.js'
import { splitRequestTarget, toParamPairs, truncateName, type ParamInput, type ParamPair } from './request-params.js'

/** Where the parameters of a received OAuth 1.0a request can be: query, form body, Authorization header. */
export interface Lti11RequestParts {
  /** The request target exactly as received (`request.url` in Fastify): path, optionally `?query`. */
  rawPath: string
  /** Raw query string or decoded pairs; only when `rawPath` carries no `?query` itself. */
  query?: string | ParamInput
  /** Decoded `application/x-www-form-urlencoded` body parameters (never a JSON or XML body). */
  body?: ParamInput
  /** `Authorization: OAuth …` header value, when the protocol parameters travel there. */
  authorization?: string
}

/** The protocol parameters of a request, read and checked for shape before any lookup. */
export interface OAuthParams {
  consumerKey: string
  signature: string
  signatureMethod: string
  /** Seconds since the epoch, as sent. */
  timestamp: number
  nonce: string
  version: '1.0' | undefined
  callback: string | undefined
  token: string | undefined
  bodyHash: string | undefined
}

const REQUIRED = ['oauth_consumer_key', 'oauth_signature', 'oauth_signature_method', 'oauth_timestamp', 'oauth_nonce'] as const

/** Matches the columns the caller stores them in (lti11_consumers.consumer_key, oauth_nonces.nonce). */
const MAX_CONSUMER_KEY_LENGTH = 255
const MAX_NONCE_LENGTH = 128

/**
 * Reads the `oauth_*` parameters from all three places without verifying anything, so the caller
 * can look the consumer up by key before verification (and only record anything after it).
 * Refuses a protocol parameter sent twice (in one place or across places): which copy was signed
 * would otherwise be ambiguous. Pure; throws LTI11_* codes.
 */
export function parseOAuthParams (parts: Lti11RequestParts): OAuthParams {
  return readOAuthParams(collectRequestParams(parts).all)
}

/**
 * Every parameter of the request in one list (header protocol parameters without `realm`, query,
 * body), plus the received path. Shared by parsing and verification so both see the same set.
 */
export function collectRequestParams (parts: Lti11RequestParts): { path: string, all: ParamPair[] } {
  const { path, queryPairs } = splitRequestTarget(parts.rawPath, parts.query)
  const headerPairs = parts.authorization === undefined ? [] : parseAuthorizationHeader(parts.authorization)
  return { path, all: [...headerPairs, ...queryPairs, ...toParamPairs(parts.body)] }
}

function readOAuthParams (pairs: ReadonlyArray<ParamPair>): OAuthParams {
  const oauth = new Map<string, string>()
  for (const [name, value] of pairs) {
    if (!name.startsWith('oauth_')) continue
    if (oauth.has(name)) throw lti11Error('LTI11_DUPLICATE_PARAM', { name: truncateName(name) })
    oauth.set(name, value)
  }
  for (const name of REQUIRED) {
    if (!oauth.get(name)) throw lti11Error('LTI11_MISSING_PARAM', { name })
  }
  const version = oauth.get('oauth_version')
  if (version !== undefined && version !== '1.0') throw lti11Error('LTI11_BAD_OAUTH_VERSION', { received: truncateName(version) })

  const consumerKey = oauth.get('oauth_consumer_key') as string
  if (consumerKey.length > MAX_CONSUMER_KEY_LENGTH) throw lti11Error('LTI11_MALFORMED_PARAM', { name: 'oauth_consumer_key', reason: 'too long' })
  const nonce = oauth.get('oauth_nonce') as string
  if (nonce.length > MAX_NONCE_LENGTH) throw lti11Error('LTI11_MALFORMED_PARAM', { name: 'oauth_nonce', reason: 'too long' })
  const timestamp = oauth.get('oauth_timestamp') as string
  // Digits only: `Number(' 1e3 ')` would accept forms no consumer signs.
  if (!/^[0-9]{1,12}$/.test(timestamp)) throw lti11Error('LTI11_MALFORMED_PARAM', { name: 'oauth_timestamp', reason: 'not a number of seconds' })

  return {
    consumerKey,
    signature: oauth.get('oauth_signature') as string,
    signatureMethod: oauth.get('oauth_signature_method') as string,
    timestamp: Number(timestamp),
    nonce,
    version: version === undefined ? undefined : '1.0',
    callback: oauth.get('oauth_callback'),
    token: oauth.get('oauth_token'),
    bodyHash: oauth.get('oauth_body_hash')
  }
}

/**
 * RFC 5849 §3.5.1: `OAuth name="value", …`, values percent-encoded and quoted. `realm` is not a
 * signed parameter and is dropped; anything but `oauth_*` in the header is refused.
 */
export function parseAuthorizationHeader (header: string): ParamPair[] {
  const match = /^\s*OAuth(?:\s+([\s\S]*))?$/i.exec(header)
  if (match === null) throw malformedHeader('not an OAuth authorization')
  const list = (match[1] ?? '').trim()
  const pairs: ParamPair[] = []
  if (list === '') return pairs
  const item = /\s*([^\s=,"]+)\s*=\s*"([^"]*)"\s*(?:,|$)/y
  let at = 0
  while (at < list.length) {
    item.lastIndex = at
    const found = item.exec(list)
    if (found === null) throw malformedHeader('bad parameter syntax')
    at = item.lastIndex
    const name = decodeOrRefuse(found[1] as string)
    const value = decodeOrRefuse(found[2] as string)
    if (name === 'realm') continue
    if (!name.startsWith('oauth_')) throw malformedHeader('only oauth_* parameters belong in the header')
    pairs.push([name, value])
  }
  return pairs
}

function decodeOrRefuse (encoded: string): string {
  try {
    return decodeURIComponent(encoded)
  } catch {
    throw malformedHeader('bad percent-encoding')
  }
}

function malformedHeader (reason: string) {
  return lti11Error('LTI11_MALFORMED_PARAM', { name: 'Authorization', reason })
}
