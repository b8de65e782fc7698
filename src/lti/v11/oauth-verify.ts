import { timingSafeEqual } from 'node:crypto'
import { receivedBaseUri, signatureBaseString } from './base-string.js'
import { oauthBodyHash } from './body-hash.js'
import { lti11Error } from './errors.js'
import { collectRequestParams, parseOAuthParams, type Lti11RequestParts, type OAuthParams } from './oauth-params.js'
import { hmacDigest, isMethodAllowed, signingKey, type SignatureMethod } from './signature-methods.js'
import { truncateName } from './request-params.js'

export const DEFAULT_TIMESTAMP_WINDOW_SECONDS = 300

export interface VerifyLti11Input extends Lti11RequestParts {
  /** HTTP method as received. */
  method: string
  /** Configured PUBLIC_URL: the only source of scheme, host and port of the signed URL. */
  publicUrl: string
  consumerSecret: string
  /** Only for plain OAuth 1.0a with a token (RFC 5849 vector); LTI 1.1 has none. */
  tokenSecret?: string
  /** Methods besides HMAC-SHA1 this consumer may use (e.g. `['HMAC-SHA256']`). */
  allowedMethods?: readonly string[]
  /** Accepted clock difference either way; default 300 s. */
  windowSeconds?: number
  /** Exact bytes of a non-form body; required (and checked) when `oauth_body_hash` is signed. */
  rawBody?: string | Uint8Array
  now: Date
}

export interface VerifiedLti11Request {
  consumerKey: string
  nonce: string
  /** Seconds since the epoch, as signed. */
  timestamp: number
  /** Our clock minus theirs, in seconds (positive: their clock is behind). For logs. */
  skewSeconds: number
  signatureMethod: SignatureMethod
}

/**
 * Verifies an OAuth 1.0a signed request (an LTI 1.1 launch) and returns what the caller must
 * record atomically in its nonce store. Steps, each throwing its own code: protocol parameters
 * (missing / repeated / version) → method allow-list → timestamp window → body hash (when signed)
 * → signature, compared in constant time over the decoded bytes.
 *
 * The nonce is NOT checked here (it needs the database): record `(consumerKey, nonce)` with an
 * insert-or-fail and throw LTI11_NONCE_REPLAYED when it already exists.
 */
export function verifyLti11Request (input: VerifyLti11Input): VerifiedLti11Request {
  const oauth = parseOAuthParams(input)

  if (!isMethodAllowed(oauth.signatureMethod, input.allowedMethods)) {
    throw lti11Error('LTI11_SIGNATURE_METHOD_NOT_ALLOWED', { method: truncateName(oauth.signatureMethod) })
  }
  const signatureMethod = oauth.signatureMethod

  const windowSeconds = input.windowSeconds ?? DEFAULT_TIMESTAMP_WINDOW_SECONDS
  const skewSeconds = Math.floor(input.now.getTime() / 1000) - oauth.timestamp
  if (!(Math.abs(skewSeconds) <= windowSeconds)) {
    throw lti11Error('LTI11_STALE_TIMESTAMP', { skewSeconds, windowSeconds })
  }

  checkBodyHash(oauth, input.rawBody)

  const baseString = lti11SignatureBaseString(input)
  const expected = hmacDigest(signatureMethod, signingKey(input.consumerSecret, input.tokenSecret), baseString)
  const received = decodeBase64Strict(oauth.signature)
  if (received === undefined || received.length !== expected.length || !timingSafeEqual(received, expected)) {
    // The consumer key and the URL we checked against are what an admin needs: the usual cause is a
    // PUBLIC_URL (scheme, host, port) that differs from the URL the platform signed. Never the secret.
    throw lti11Error('LTI11_BAD_SIGNATURE', { signatureMethod, consumerKey: truncateName(oauth.consumerKey), checkedUrl: receivedBaseUri(input.publicUrl, input.rawPath) })
  }

  return { consumerKey: oauth.consumerKey, nonce: oauth.nonce, timestamp: oauth.timestamp, skewSeconds, signatureMethod }
}

/**
 * The base string we check a received request against (RFC 5849 §3.4.1). Exported for tests and
 * admin diagnostics; it contains launch data (names, e-mails), so never log it.
 */
export function lti11SignatureBaseString (input: Pick<VerifyLti11Input, 'method' | 'publicUrl' | 'rawPath' | 'query' | 'body' | 'authorization'>): string {
  const { path, all } = collectRequestParams(input)
  const signed = all.filter(([name]) => name !== 'oauth_signature')
  return signatureBaseString(input.method, receivedBaseUri(input.publicUrl, path), signed)
}

/**
 * When a consumer signs `oauth_body_hash`, the body it covers must be the body we got. A form body
 * never carries one (its parameters are signed directly), so a hash without raw bytes is refused.
 */
function checkBodyHash (oauth: OAuthParams, rawBody: string | Uint8Array | undefined): void {
  if (oauth.bodyHash === undefined) return
  if (rawBody === undefined) throw lti11Error('LTI11_BAD_BODY_HASH', { reason: 'no raw body to check' })
  const expected = Buffer.from(oauthBodyHash(rawBody), 'base64')
  const received = decodeBase64Strict(oauth.bodyHash)
  if (received === undefined || received.length !== expected.length || !timingSafeEqual(received, expected)) {
    throw lti11Error('LTI11_BAD_BODY_HASH')
  }
}

/** Canonical base64 only: Node's decoder silently skips garbage, which would blur what was sent. */
function decodeBase64Strict (value: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value)) return undefined
  return Buffer.from(value, 'base64')
}
