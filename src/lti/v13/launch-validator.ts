import { checkState, type VerifiedState } from './launch-steps/check-state.js'
import { checkTokenFormat } from './launch-steps/check-token-format.js'
import { findLaunchRegistration } from './launch-steps/find-launch-registration.js'
import { verifySignature } from './launch-steps/verify-signature.js'
import { checkTokenClaims } from './launch-steps/check-token-claims.js'
import { checkNonce } from './launch-steps/check-nonce.js'
import { checkDeployment } from './launch-steps/check-deployment.js'
import { checkMessage } from './launch-steps/check-message.js'
import { checkDeepLinkingMessage } from './launch-steps/check-deep-linking.js'
import { LtiClaim, MessageType } from '../claims.js'
import { lti13Error } from './errors.js'
import type { Lti13DeepLinkingRequest } from './lti13-deep-linking.js'
import type { JwksCache } from './jwks-cache.js'
import type { DeploymentRegistry, FindRegistrations } from './registration.js'
import type { StateStore } from './state-store.js'
import type { Lti13Launch } from './lti13-launch.js'

export interface LaunchInput {
  /** Form field `id_token` of the platform's auth response. */
  idToken: unknown
  /** Form field `state`. */
  state: unknown
  /** The browser binding the adapter recovered (cookie, or platform storage via the storage page). */
  binding: string | undefined
  /** `state` as the adapter already verified it with verifyStateToken at the same `now`, if it did. */
  verifiedState?: VerifiedState | undefined
}

export interface LaunchValidatorDeps {
  stateKey: Uint8Array
  stateStore: StateStore
  findRegistrations: FindRegistrations
  jwks: JwksCache
  deployments: DeploymentRegistry
  publicUrl: string
  now?: (() => number) | undefined
}

/**
 * The id_token pipeline, SEQUENTIAL and in this fixed order, each step throwing its own code
 * (lti-checklist.md §2; contrast ltijs' concurrent checks that store a nonce even when `aud`
 * fails). Nothing derived from the token is trusted before step 4 verifies the signature; no
 * side effect other than consuming the state happens before the nonce matches.
 *
 *   1 state → 2 JWT format → 3 registration → 4 signature → 5 iss/aud/azp/time
 *   → 6 nonce → 7 deployment → 8 message type and required claims
 */
export async function validateLaunch (input: LaunchInput, deps: LaunchValidatorDeps): Promise<Lti13Launch> {
  const message = await validateMessage(input, deps)
  if (message.messageType !== MessageType.resourceLinkRequest) throw lti13Error('LTI13_BAD_MESSAGE_TYPE', { messageType: message.messageType })
  return message
}

/**
 * The same pipeline, where step 8 accepts either message the tool handles: a resource link launch
 * or a Deep Linking content selection request (the route then shows the picker).
 */
export async function validateMessage (input: LaunchInput, deps: LaunchValidatorDeps): Promise<Lti13Launch | Lti13DeepLinkingRequest> {
  const now = (deps.now ?? Date.now)()
  const { record: state, token: stateToken } = await checkState(input.state, input.binding, { stateKey: deps.stateKey, stateStore: deps.stateStore, now, verified: input.verifiedState })
  const { header, claims } = checkTokenFormat(input.idToken)
  const registration = await findLaunchRegistration(claims, state, deps.findRegistrations)
  await verifySignature(input.idToken as string, header, registration, deps.jwks)
  checkTokenClaims(claims, registration, now)
  checkNonce(claims, state)
  const deploymentId = await checkDeployment(claims, registration, deps.deployments)
  const facts = { registrationId: registration.id, iss: registration.issuer, clientId: registration.clientId, deploymentId, nonce: state.nonce, issuedAt: claims.iat as number, expiresAt: claims.exp as number }
  if (claims[LtiClaim.messageType] === MessageType.deepLinkingRequest) {
    return { ...facts, ...checkDeepLinkingMessage(claims, registration, state, deps.publicUrl) }
  }
  const message = checkMessage(claims, registration, state, deps.publicUrl)

  const platformStorage = stateToken.storageTarget !== undefined && stateToken.platformOrigin !== undefined
    ? { frame: stateToken.storageTarget, targetOrigin: stateToken.platformOrigin }
    : undefined
  return {
    registrationId: registration.id,
    iss: registration.issuer,
    clientId: registration.clientId,
    deploymentId,
    ...message,
    platformStorage,
    nonce: state.nonce,
    issuedAt: claims.iat as number,
    expiresAt: claims.exp as number
  }
}
