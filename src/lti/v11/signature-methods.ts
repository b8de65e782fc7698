import { createHmac } from 'node:crypto'
import { percentEncode } from './percent-encode.js'

/**
 * The OAuth 1.0a signature methods we implement, with their HMAC digest. HMAC-SHA1 is what LTI 1.1
 * mandates; HMAC-SHA256 is an opt-in per consumer. PLAINTEXT (sends the secret) and RSA-SHA1 (no
 * key exchange in LTI 1.1) are deliberately absent: asking for them is refused with a stable code
 * rather than crashing like an unimplemented branch would (lti-checklist.md §1 #5).
 */
export const SignatureMethods = {
  'HMAC-SHA1': 'sha1',
  'HMAC-SHA256': 'sha256'
} as const

export type SignatureMethod = keyof typeof SignatureMethods

/** The method every LTI 1.1 consumer may use, whatever its allow-list says. */
export const DEFAULT_SIGNATURE_METHOD: SignatureMethod = 'HMAC-SHA1'

export function isSignatureMethod (value: string): value is SignatureMethod {
  return Object.hasOwn(SignatureMethods, value)
}

/** HMAC-SHA1 always; anything else only when the allow-list names it. */
export function isMethodAllowed (method: string, allowed: readonly string[] = []): method is SignatureMethod {
  if (!isSignatureMethod(method)) return false
  return method === DEFAULT_SIGNATURE_METHOD || allowed.includes(method)
}

/** RFC 5849 §3.4.2: `enc(consumer secret) & enc(token secret)`; LTI has no token, so `enc(secret)&`. */
export function signingKey (consumerSecret: string, tokenSecret = ''): string {
  return `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`
}

/** Raw HMAC bytes of the base string: compared as bytes, sent as base64. */
export function hmacDigest (method: SignatureMethod, key: string, baseString: string): Buffer {
  return createHmac(SignatureMethods[method], key).update(baseString, 'utf8').digest()
}
