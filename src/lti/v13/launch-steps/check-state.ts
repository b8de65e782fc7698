import { lti13Error } from '../errors.js'
import { safeEqual, sha256Base64url } from '../safe-equal.js'
import { verifyStateToken, type StateTokenClaims } from '../state-token.js'
import type { StateRecord, StateStore } from '../state-store.js'

/** A state string and the claims verifyStateToken returned for it. */
export interface VerifiedState {
  token: string
  claims: StateTokenClaims
}

export interface CheckedState {
  record: StateRecord
  token: StateTokenClaims
}

/**
 * Step 1, state: present → our signature, unexpired → a binding was supplied → consumed once
 * (atomically, by the store) → the record is unexpired → the binding is this browser's.
 *
 * A launch without any binding is refused *before* consuming, so an adapter that has not yet
 * recovered the binding (cookie blocked, platform storage still to be read) cannot burn the state.
 * Once a binding is offered the state is consumed whatever the outcome: one attempt per login.
 */
export async function checkState (
  stateParam: unknown,
  binding: string | undefined,
  deps: { stateKey: Uint8Array, stateStore: StateStore, now: number, verified?: VerifiedState | undefined }
): Promise<CheckedState> {
  // The adapter may already have verified this very string at this very `now` (to find the binding
  // cookie): its claims are reused, a second HMAC check would only cost time.
  const token = deps.verified !== undefined && typeof stateParam === 'string' && deps.verified.token === stateParam
    ? deps.verified.claims
    : await verifyStateToken(stateParam, deps.stateKey, { now: deps.now })
  if (binding === undefined || binding === '') throw lti13Error('LTI13_STATE_WRONG_BROWSER', { reason: 'no binding' })
  const record = await deps.stateStore.consume(token.stateId)
  if (record === null) throw lti13Error('LTI13_STATE_REPLAYED')
  if (record.expiresAt.getTime() <= deps.now) throw lti13Error('LTI13_STATE_EXPIRED')
  if (!safeEqual(sha256Base64url(binding), record.bindingHash)) {
    throw lti13Error('LTI13_STATE_WRONG_BROWSER', { reason: 'binding differs' })
  }
  return { record, token }
}
