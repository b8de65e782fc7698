import { lti13Error } from '../errors.js'
import { safeEqual } from '../safe-equal.js'
import type { Claims } from '../claim-readers.js'
import type { StateRecord } from '../state-store.js'

/**
 * Step 6, nonce: the id_token must answer *this* login. The nonce was generated and stored with
 * the state; the state record is already consumed, so the pair is single-use by construction.
 */
export function checkNonce (claims: Claims, state: StateRecord): void {
  const nonce = claims.nonce
  if (typeof nonce !== 'string' || !safeEqual(nonce, state.nonce)) {
    throw lti13Error('LTI13_NONCE_MISMATCH', { present: typeof nonce === 'string' })
  }
}
