import { lti13Error } from '../errors.js'
import type { Claims } from '../claim-readers.js'
import { sameRegistrationId, type FindRegistrations, type Lti13Registration } from '../registration.js'
import type { StateRecord } from '../state-store.js'

export interface Audience {
  aud: string[]
  azp: string | undefined
}

/** `aud` as a list (a string is a one-element list), `azp` when present. */
export function readAudience (claims: Claims): Audience {
  const { aud, azp } = claims
  let list: string[]
  if (typeof aud === 'string' && aud !== '') list = [aud]
  else if (Array.isArray(aud) && aud.length > 0 && aud.every(a => typeof a === 'string')) list = aud
  else if (aud === undefined) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'aud' })
  else throw lti13Error('LTI13_INVALID_CLAIM', { claim: 'aud', reason: 'not a string or array of strings' })
  if (azp !== undefined && typeof azp !== 'string') throw lti13Error('LTI13_INVALID_CLAIM', { claim: 'azp', reason: 'not a string' })
  return { aud: list, azp }
}

/**
 * Step 3, registration by `iss` + `aud`/`azp`, and it must be the registration the login was for
 * (the state record names it). Exact issuer and audience rules are checked after the signature,
 * each with its own code; here we only find which keys to verify with.
 */
export async function findLaunchRegistration (
  claims: Claims,
  state: StateRecord,
  findRegistrations: FindRegistrations
): Promise<Lti13Registration> {
  const iss = claims.iss
  if (iss === undefined) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'iss' })
  if (typeof iss !== 'string' || iss === '') throw lti13Error('LTI13_INVALID_CLAIM', { claim: 'iss', reason: 'not a string' })
  const { aud, azp } = readAudience(claims)
  // Every registration of the issuer (a short list), not a lookup by one audience: which client
  // the token names is decided here and in step 5, with their own codes, whatever the store filters.
  const candidates = (await findRegistrations(iss))
    .filter(r => aud.includes(r.clientId) || r.clientId === azp)
  if (candidates.length === 0) throw lti13Error('LTI13_UNKNOWN_REGISTRATION', { issuer: iss })
  const registration = candidates.find(r => sameRegistrationId(r.id, state.registrationId))
  if (registration === undefined) throw lti13Error('LTI13_REGISTRATION_MISMATCH', { issuer: iss })
  if (registration.active === false) throw lti13Error('LTI13_REGISTRATION_INACTIVE', { registrationId: registration.id })
  return registration
}
