import { LTI_VERSION, DeepLinkingClaim, LtiClaim, MessageType } from '../../claims.js'
import { lti13Error } from '../errors.js'
import { MAX_ID_LENGTH, isRecord, optionalRecord, optionalString, requiredString, stringArray, type Claims } from '../claim-readers.js'
import { parseTargetLinkUri, sameUrl } from '../tool-urls.js'
import type { Lti13Registration } from '../registration.js'
import type { StateRecord } from '../state-store.js'
import type { DeepLinkingSettings, Lti13DeepLinkingRequest } from '../lti13-deep-linking.js'

export type DeepLinkingClaims = Pick<Lti13DeepLinkingRequest, 'messageType' | 'sub' | 'roles' | 'context' | 'targetLinkUri' | 'settings'>

/** The content item type this tool returns; a request that does not accept it cannot be answered. */
export const RESOURCE_LINK_TYPE = 'ltiResourceLink'
const MAX_DATA_LENGTH = 8192

/**
 * Step 8 for an `LtiDeepLinkingRequest` (LTI Deep Linking 2.0 §4.4). No resource link is required,
 * but one is tolerated: Open edX Studio's xblock-lti-consumer sends `resource_link`, empty
 * `title`/`text` settings and no `data`.
 */
export function checkDeepLinkingMessage (claims: Claims, registration: Lti13Registration, state: StateRecord, publicUrl: string): DeepLinkingClaims {
  if (claims[LtiClaim.version] !== LTI_VERSION) throw lti13Error('LTI13_BAD_VERSION')
  if (claims[LtiClaim.roles] === undefined) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'roles' })
  const roles = stringArray(claims[LtiClaim.roles], 'roles')
  optionalRecord(claims, LtiClaim.resourceLink, 'resource_link')

  const targetLinkUri = requiredString(claims, LtiClaim.targetLinkUri, 'target_link_uri', 2048)
  const target = parseTargetLinkUri(targetLinkUri, publicUrl)
  if (target === null) throw lti13Error('LTI13_BAD_TARGET_LINK_URI', { reason: 'not a URL of this tool' })
  if (target.kind === 'content') throw lti13Error('LTI13_WRONG_MESSAGE_TARGET', { reason: 'content selection sent to a content URL' })
  if (!sameUrl(targetLinkUri, state.targetLinkUri)) throw lti13Error('LTI13_BAD_TARGET_LINK_URI', { reason: 'differs from the login target_link_uri' })

  let sub: string | undefined
  if (claims.sub === undefined || claims.sub === null || claims.sub === '') {
    if (registration.allowAnonymous !== true) throw lti13Error('LTI13_ANONYMOUS_NOT_ALLOWED')
  } else {
    sub = requiredString(claims, 'sub', 'sub', MAX_ID_LENGTH)
  }

  const context = optionalRecord(claims, LtiClaim.context, 'context')
  return {
    messageType: MessageType.deepLinkingRequest,
    sub,
    roles,
    context: context === undefined
      ? undefined
      : { id: requiredString(context, 'id', 'context.id', MAX_ID_LENGTH), title: optionalString(context, 'title', 'context.title') },
    targetLinkUri,
    settings: readSettings(claims)
  }
}

function invalid (field: string, reason: string): Error {
  return lti13Error('LTI13_INVALID_CLAIM', { claim: `deep_linking_settings.${field}`, reason })
}

/** LTI says booleans; a few platforms send "true"/"false" strings, which mean the same. */
function flag (settings: Record<string, unknown>, name: string): boolean {
  const value = settings[name]
  if (value === undefined || value === null) return false
  if (typeof value === 'boolean') return value
  if (value === 'true' || value === 'false') return value === 'true'
  throw invalid(name, 'not a boolean')
}

function readSettings (claims: Claims): DeepLinkingSettings {
  const value = claims[DeepLinkingClaim.settings]
  if (value === undefined || value === null) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'deep_linking_settings' })
  if (!isRecord(value)) throw lti13Error('LTI13_INVALID_CLAIM', { claim: 'deep_linking_settings', reason: 'not an object' })

  const returnUrl = requiredString(value, 'deep_link_return_url', 'deep_linking_settings.deep_link_return_url', 2048)
  let parsed: URL
  try {
    parsed = new URL(returnUrl)
  } catch {
    throw invalid('deep_link_return_url', 'not an absolute URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalid('deep_link_return_url', 'not an http(s) URL')

  if (value.accept_types === undefined || value.accept_types === null) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'deep_linking_settings.accept_types' })
  const acceptTypes = stringArray(value.accept_types, 'deep_linking_settings.accept_types')
  if (!acceptTypes.includes(RESOURCE_LINK_TYPE)) throw lti13Error('LTI13_DEEP_LINKING_TYPES_NOT_ACCEPTED', { acceptTypes: acceptTypes.slice(0, 10).map(type => type.slice(0, 64)) })

  const targets = value.accept_presentation_document_targets
  const acceptPresentationDocumentTargets = targets === undefined || targets === null
    ? []
    : stringArray(targets, 'deep_linking_settings.accept_presentation_document_targets')

  const data = value.data
  if (data !== undefined && data !== null && typeof data !== 'string') throw invalid('data', 'not a string')
  if (typeof data === 'string' && data.length > MAX_DATA_LENGTH) throw invalid('data', 'too long')

  return {
    returnUrl,
    acceptTypes,
    acceptPresentationDocumentTargets,
    acceptMultiple: flag(value, 'accept_multiple'),
    acceptLineItem: flag(value, 'accept_lineitem'),
    autoCreate: flag(value, 'auto_create'),
    data: typeof data === 'string' ? data : undefined,
    title: optionalString(value, 'title', 'deep_linking_settings.title'),
    text: optionalString(value, 'text', 'deep_linking_settings.text')
  }
}
