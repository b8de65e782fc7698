import { createHmac } from 'node:crypto'
import { lti13Error } from './errors.js'
import { safeEqual } from './safe-equal.js'
import type { Lti13Launch } from './lti13-launch.js'

/**
 * LTI 1.1 → 1.3 migration claim (1EdTech LTI 1.3 Core, "LTI 1.1 migration claim"): the platform
 * proves it holds the LTI 1.1 consumer secret by signing
 *   oauth_consumer_key & deployment_id & iss & client_id & exp & nonce
 * (joined with `&`, no encoding) with HMAC-SHA256 keyed by the 1.1 secret, base64-encoded, in
 * `oauth_consumer_key_sign`. Only then may a 1.3 launch inherit the 1.1 consumer's users and links.
 */

export interface Lti1p1SignedFields {
  oauthConsumerKey: string
  deploymentId: string
  iss: string
  clientId: string
  exp: number
  nonce: string
}

export function lti1p1SignatureBase (f: Lti1p1SignedFields): string {
  return [f.oauthConsumerKey, f.deploymentId, f.iss, f.clientId, String(f.exp), f.nonce].join('&')
}

export function signLti1p1 (fields: Lti1p1SignedFields, consumerSecret: string): string {
  return createHmac('sha256', Buffer.from(consumerSecret, 'utf8')).update(lti1p1SignatureBase(fields), 'utf8').digest('base64')
}

export interface VerifiedLti1p1 {
  oauthConsumerKey: string
  userId: string | undefined
  resourceLinkId: string | undefined
}

/**
 * Verifies the claim of a validated launch against the linked LTI 1.1 consumer. Throws
 * LTI13_LTI1P1_CLAIM_INCOMPLETE when key or signature is absent, LTI13_LTI1P1_BAD_SIGNATURE when
 * the key is another consumer's or the signature does not match (compared in constant time).
 */
export function verifyLti1p1Claim (
  launch: Pick<Lti13Launch, 'lti1p1' | 'deploymentId' | 'iss' | 'clientId' | 'expiresAt' | 'nonce'>,
  consumer: { key: string, secret: string }
): VerifiedLti1p1 {
  const claim = launch.lti1p1
  const key = claim?.oauthConsumerKey
  const sign = claim?.oauthConsumerKeySign
  if (key === undefined || key === '' || sign === undefined || sign === '') {
    throw lti13Error('LTI13_LTI1P1_CLAIM_INCOMPLETE')
  }
  const expected = signLti1p1({
    oauthConsumerKey: consumer.key,
    deploymentId: launch.deploymentId,
    iss: launch.iss,
    clientId: launch.clientId,
    exp: launch.expiresAt,
    nonce: launch.nonce
  }, consumer.secret)
  const keyMatches = safeEqual(key, consumer.key)
  const signMatches = safeEqual(sign, expected)
  if (!keyMatches || !signMatches) throw lti13Error('LTI13_LTI1P1_BAD_SIGNATURE', { reason: keyMatches ? 'signature' : 'consumer key' })
  return { oauthConsumerKey: key, userId: claim?.userId, resourceLinkId: claim?.resourceLinkId }
}
