import { compactVerify, errors, type ProtectedHeaderParameters } from 'jose'
import { isAppError } from '../../../errors.js'
import { lti13Error } from '../errors.js'
import { allowedAlgorithms, type Lti13Registration } from '../registration.js'
import type { JwksCache, PlatformKeySet } from '../jwks-cache.js'

/**
 * Step 4, signature. The algorithm allow-list comes from the registration (RS256 by default) and
 * is checked against the header before any key is chosen, then enforced again by jose: the
 * header never decides which algorithm family we run, so `none`, HS256-with-the-public-key and
 * friends die here (lti-checklist.md §2 #4). The key is picked by `kid` from the platform's JWKS
 * only; `jku`, `x5u`, `jwk` and `x5c` headers are never read.
 *
 * An unknown `kid` triggers one rate-limited JWKS refetch (key rotation), then LTI13_UNKNOWN_KID.
 */
export async function verifySignature (
  idToken: string,
  header: ProtectedHeaderParameters,
  registration: Lti13Registration,
  jwks: JwksCache
): Promise<void> {
  const algorithms = allowedAlgorithms(registration)
  if (typeof header.alg !== 'string' || !(algorithms as string[]).includes(header.alg)) {
    throw lti13Error('LTI13_ALG_NOT_ALLOWED', { alg: typeof header.alg === 'string' ? header.alg : null, allowed: algorithms })
  }
  const keySet = await jwks.get(registration.jwksUrl)
  try {
    await verifyWith(idToken, keySet, algorithms)
    return
  } catch (err) {
    if (!isAppError(err) || err.code !== 'LTI13_UNKNOWN_KID') throw err
  }
  const refreshed = await jwks.refresh(registration.jwksUrl)
  if (refreshed === null) throw lti13Error('LTI13_UNKNOWN_KID', { kid: header.kid ?? null, refetch: 'rate-limited' })
  await verifyWith(idToken, refreshed, algorithms)
}

async function verifyWith (idToken: string, keySet: PlatformKeySet, algorithms: string[]): Promise<void> {
  try {
    await compactVerify(idToken, keySet.resolve, { algorithms })
  } catch (err) {
    if (err instanceof errors.JWKSMultipleMatchingKeys) {
      // No `kid` (or a duplicated one) and several candidate keys: try each, as jose does itself.
      for await (const key of err) {
        try {
          await compactVerify(idToken, key, { algorithms })
          return
        } catch {
          // next candidate
        }
      }
      throw lti13Error('LTI13_BAD_SIGNATURE', { reason: 'no candidate key verifies' }, { cause: err })
    }
    throw mapJoseError(err)
  }
}

function mapJoseError (err: unknown): Error {
  if (err instanceof errors.JWKSNoMatchingKey) return lti13Error('LTI13_UNKNOWN_KID', undefined, { cause: err })
  if (err instanceof errors.JWSSignatureVerificationFailed) return lti13Error('LTI13_BAD_SIGNATURE', undefined, { cause: err })
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return lti13Error('LTI13_ALG_NOT_ALLOWED', undefined, { cause: err })
  }
  if (err instanceof errors.JWSInvalid) return lti13Error('LTI13_TOKEN_MALFORMED', { reason: 'invalid JWS' }, { cause: err })
  // Unusable key material (short RSA modulus, malformed JWK): the platform's key cannot verify us.
  return lti13Error('LTI13_BAD_SIGNATURE', { reason: 'unusable key' }, { cause: err })
}
