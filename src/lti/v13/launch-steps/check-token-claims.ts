import { lti13Error } from '../errors.js'
import { optionalNumber, requiredNumericDate, type Claims } from '../claim-readers.js'
import { RegistrationDefaults, type Lti13Registration } from '../registration.js'
import { readAudience } from './find-launch-registration.js'

/**
 * Step 5, issuer, audience and time, on the now-authenticated claims (OIDC Core §3.1.3.7).
 * `iss` must equal the registered issuer byte for byte (a case-insensitive database lookup must
 * not widen it); `aud` must contain our client_id; with several audiences `azp` is required, and
 * whenever present it must be our client_id. Times use the registration's leeway (60 s) on every
 * bound, including the maximum age (300 s) measured from `iat`.
 */
export function checkTokenClaims (claims: Claims, registration: Lti13Registration, nowMs: number): void {
  if (claims.iss !== registration.issuer) throw lti13Error('LTI13_WRONG_ISSUER', { expected: registration.issuer })
  const { aud, azp } = readAudience(claims)
  if (!aud.includes(registration.clientId)) throw lti13Error('LTI13_WRONG_AUDIENCE', { audiences: aud.length })
  if (aud.length > 1 && azp === undefined) throw lti13Error('LTI13_BAD_AZP', { reason: 'several audiences and no azp' })
  if (azp !== undefined && azp !== registration.clientId) throw lti13Error('LTI13_BAD_AZP', { reason: 'azp is not our client_id' })

  const leeway = registration.clockLeewaySeconds ?? RegistrationDefaults.clockLeewaySeconds
  const maxAge = registration.maxTokenAgeSeconds ?? RegistrationDefaults.maxTokenAgeSeconds
  const now = Math.floor(nowMs / 1000)
  const exp = requiredNumericDate(claims, 'exp')
  const iat = requiredNumericDate(claims, 'iat')
  const nbf = optionalNumber(claims, 'nbf')
  if (now >= exp + leeway) throw lti13Error('LTI13_TOKEN_EXPIRED', { secondsAgo: now - exp })
  if (iat > now + leeway) throw lti13Error('LTI13_TOKEN_FROM_FUTURE', { skewSeconds: iat - now })
  if (nbf !== undefined && nbf > now + leeway) throw lti13Error('LTI13_TOKEN_FROM_FUTURE', { skewSeconds: nbf - now, claim: 'nbf' })
  if (now - iat > maxAge + leeway) throw lti13Error('LTI13_TOKEN_TOO_OLD', { ageSeconds: now - iat, maxAgeSeconds: maxAge })
}
