import { decodeJwt, decodeProtectedHeader, type ProtectedHeaderParameters } from 'jose'
import { lti13Error } from '../errors.js'
import type { Claims } from '../claim-readers.js'

/** Compact JWS: three base64url parts; the signature may be empty so `alg: none` gets its own code. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
export const MAX_ID_TOKEN_LENGTH = 100_000

export interface DecodedToken {
  header: ProtectedHeaderParameters
  claims: Claims
}

/**
 * Step 2, JWT format: decode header and payload WITHOUT trusting them. Nothing here is
 * authenticated yet; later steps only use these values to pick the registration and key.
 * `crit` and `b64` (RFC 7797 unencoded payload) are refused: no platform needs them and they
 * change how the signature is computed.
 */
export function checkTokenFormat (idToken: unknown): DecodedToken {
  if (typeof idToken !== 'string' || idToken.length === 0) throw lti13Error('LTI13_TOKEN_MISSING')
  if (idToken.length > MAX_ID_TOKEN_LENGTH) throw lti13Error('LTI13_TOKEN_MALFORMED', { reason: 'too long' })
  if (!COMPACT_JWS.test(idToken)) throw lti13Error('LTI13_TOKEN_MALFORMED', { reason: 'not a compact JWS' })
  let header: ProtectedHeaderParameters
  let claims: Claims
  try {
    header = decodeProtectedHeader(idToken)
    claims = decodeJwt(idToken)
  } catch (err) {
    throw lti13Error('LTI13_TOKEN_MALFORMED', { reason: 'undecodable header or payload' }, { cause: err })
  }
  if ('crit' in header || 'b64' in header) throw lti13Error('LTI13_TOKEN_MALFORMED', { reason: 'crit/b64 header' })
  return { header, claims }
}
