/**
 * The Deep Linking response (wire-formats.md §9, LTI Deep Linking 2.0 §4.5): a JWT the tool signs
 * with its current key, answered to the platform's `deep_link_return_url` as the form field `JWT`.
 */
import { randomBytes } from 'node:crypto'
import { SignJWT, type CryptoKey } from 'jose'
import { DeepLinkingClaim, LTI_VERSION, LtiClaim, MessageType } from '../claims.js'

export interface LineItemSpec {
  scoreMaximum: number
  label: string
  resourceId: string
  tag: string
}

export interface ResourceLinkItem {
  type: 'ltiResourceLink'
  title: string
  text?: string | undefined
  url: string
  lineItem?: LineItemSpec | undefined
  custom?: Record<string, string> | undefined
}

export interface DeepLinkingAnswer {
  /** The registration's client_id: the tool is the issuer of this message. */
  clientId: string
  /** The platform issuer: the audience. */
  platformIssuer: string
  deploymentId: string
  /** `data` of the request settings, echoed exactly; omitted when the request had none. */
  data: string | undefined
  items: ResourceLinkItem[]
  msg?: string | undefined
  log?: string | undefined
}

export interface ResponseSigningKey { kid: string, alg: string, key: CryptoKey }

export const DEEP_LINKING_RESPONSE_TTL_SECONDS = 300

export async function signDeepLinkingResponse (answer: DeepLinkingAnswer, signing: ResponseSigningKey, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000)
  const claims: Record<string, unknown> = {
    nonce: randomBytes(16).toString('base64url'),
    [LtiClaim.deploymentId]: answer.deploymentId,
    [LtiClaim.messageType]: MessageType.deepLinkingResponse,
    [LtiClaim.version]: LTI_VERSION,
    [DeepLinkingClaim.contentItems]: answer.items.map(item => withoutUndefined(item))
  }
  if (answer.data !== undefined) claims[DeepLinkingClaim.data] = answer.data
  if (answer.msg !== undefined) claims[DeepLinkingClaim.msg] = answer.msg
  if (answer.log !== undefined) claims[DeepLinkingClaim.log] = answer.log
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: signing.alg, kid: signing.kid, typ: 'JWT' })
    .setIssuer(answer.clientId)
    .setAudience(answer.platformIssuer)
    .setIssuedAt(iat)
    .setExpirationTime(iat + DEEP_LINKING_RESPONSE_TTL_SECONDS)
    .sign(signing.key)
}

function withoutUndefined (item: ResourceLinkItem): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).filter(([, value]) => value !== undefined))
}
