import { LTI_VERSION, LtiClaim, MessageType, ServiceClaim } from '../../claims.js'
import { lti13Error } from '../errors.js'
import {
  MAX_ID_LENGTH, isRecord, optionalNumber, optionalRecord, optionalString, requiredString, stringArray, type Claims
} from '../claim-readers.js'
import { parseTargetLinkUri, sameUrl, USAGE_KEY_CUSTOM_PARAMETER } from '../tool-urls.js'
import type { Lti13Registration } from '../registration.js'
import type { StateRecord } from '../state-store.js'
import type { Lti13Launch } from '../lti13-launch.js'

/** The claims of a resource link launch, before the facts the pipeline adds (registration, deployment…). */
export type ResourceLinkClaims = Pick<Lti13Launch,
  'messageType' | 'sub' | 'roles' | 'resourceLink' | 'context' | 'targetLinkUri' | 'courseKey' | 'usageKey' |
  'ags' | 'namesRoleService' | 'lti1p1' | 'name' | 'givenName' | 'familyName' | 'email' | 'custom' |
  'launchPresentation' | 'toolPlatform'>

/**
 * Step 8 for a resource link launch, its required claims (LTI 1.3 §5.3, §5.4). The validator sends
 * an `LtiDeepLinkingRequest` to check-deep-linking.ts instead; any other type is refused here.
 */
export function checkMessage (claims: Claims, registration: Lti13Registration, state: StateRecord, publicUrl: string): ResourceLinkClaims {
  const messageType = claims[LtiClaim.messageType]
  if (messageType !== MessageType.resourceLinkRequest) {
    throw lti13Error('LTI13_BAD_MESSAGE_TYPE', { messageType: typeof messageType === 'string' ? messageType.slice(0, 64) : null })
  }
  if (claims[LtiClaim.version] !== LTI_VERSION) throw lti13Error('LTI13_BAD_VERSION')

  if (claims[LtiClaim.roles] === undefined) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'roles' })
  const roles = stringArray(claims[LtiClaim.roles], 'roles')

  const link = claims[LtiClaim.resourceLink]
  if (link === undefined) throw lti13Error('LTI13_MISSING_CLAIM', { claim: 'resource_link' })
  if (!isRecord(link)) throw lti13Error('LTI13_INVALID_CLAIM', { claim: 'resource_link', reason: 'not an object' })
  const resourceLink = {
    id: requiredString(link, 'id', 'resource_link.id', MAX_ID_LENGTH),
    title: optionalString(link, 'title', 'resource_link.title'),
    description: optionalString(link, 'description', 'resource_link.description')
  }

  const custom = readCustom(claims)
  const { targetLinkUri, courseKey, usageKey } = readTarget(claims, custom, state, publicUrl)
  const sub = readSub(claims, registration)

  return {
    messageType,
    sub,
    roles,
    resourceLink,
    context: readContext(claims),
    targetLinkUri,
    courseKey,
    usageKey,
    ags: readAgs(claims),
    namesRoleService: readNrps(claims),
    lti1p1: readLti1p1(claims),
    name: optionalString(claims, 'name'),
    givenName: optionalString(claims, 'given_name'),
    familyName: optionalString(claims, 'family_name'),
    email: optionalString(claims, 'email', 'email', 320),
    custom,
    launchPresentation: readLaunchPresentation(claims),
    toolPlatform: readToolPlatform(claims)
  }
}

function readTarget (claims: Claims, custom: Record<string, string>, state: StateRecord, publicUrl: string) {
  const targetLinkUri = requiredString(claims, LtiClaim.targetLinkUri, 'target_link_uri', 2048)
  const target = parseTargetLinkUri(targetLinkUri, publicUrl)
  if (target === null) throw lti13Error('LTI13_BAD_TARGET_LINK_URI', { reason: 'not a content URL of this tool' })
  if (target.kind === 'deep-linking') throw lti13Error('LTI13_WRONG_MESSAGE_TARGET', { reason: 'resource link launch of the content selection URL' })
  if (!sameUrl(targetLinkUri, state.targetLinkUri)) throw lti13Error('LTI13_BAD_TARGET_LINK_URI', { reason: 'differs from the login target_link_uri' })
  if (target.kind === 'content') return { targetLinkUri, courseKey: target.courseKey, usageKey: target.usageKey }
  const usageKey = custom[USAGE_KEY_CUSTOM_PARAMETER]
  if (usageKey === undefined || usageKey === '') {
    throw lti13Error('LTI13_BAD_TARGET_LINK_URI', { reason: `generic target without custom ${USAGE_KEY_CUSTOM_PARAMETER}` })
  }
  return { targetLinkUri, courseKey: undefined, usageKey }
}

function readSub (claims: Claims, registration: Lti13Registration): string | undefined {
  if (claims.sub === undefined || claims.sub === null || claims.sub === '') {
    if (registration.allowAnonymous === true) return undefined
    throw lti13Error('LTI13_ANONYMOUS_NOT_ALLOWED')
  }
  return requiredString(claims, 'sub', 'sub', MAX_ID_LENGTH)
}

/** LTI says custom values are strings; numbers and booleans some platforms send are kept as text. */
function readCustom (claims: Claims): Record<string, string> {
  const custom = optionalRecord(claims, LtiClaim.custom, 'custom')
  const out: Record<string, string> = {}
  if (custom === undefined) return out
  for (const [key, value] of Object.entries(custom)) {
    if (typeof value === 'string') out[key] = value
    else if (typeof value === 'number' || typeof value === 'boolean') out[key] = String(value)
  }
  return out
}

function readContext (claims: Claims): Lti13Launch['context'] {
  const context = optionalRecord(claims, LtiClaim.context, 'context')
  if (context === undefined) return undefined
  const type = context.type === undefined ? [] : typeof context.type === 'string' ? [context.type] : stringArray(context.type, 'context.type')
  return {
    id: requiredString(context, 'id', 'context.id', MAX_ID_LENGTH),
    type,
    label: optionalString(context, 'label', 'context.label'),
    title: optionalString(context, 'title', 'context.title')
  }
}

function readAgs (claims: Claims): Lti13Launch['ags'] {
  const endpoint = optionalRecord(claims, ServiceClaim.agsEndpoint, 'ags.endpoint')
  if (endpoint === undefined) return undefined
  return {
    scope: endpoint.scope === undefined ? [] : stringArray(endpoint.scope, 'ags.endpoint.scope'),
    lineitem: optionalString(endpoint, 'lineitem', 'ags.endpoint.lineitem', 2048),
    lineitems: optionalString(endpoint, 'lineitems', 'ags.endpoint.lineitems', 2048)
  }
}

function readNrps (claims: Claims): Lti13Launch['namesRoleService'] {
  const service = optionalRecord(claims, ServiceClaim.nrpsNamesRoleService, 'namesroleservice')
  if (service === undefined) return undefined
  return {
    contextMembershipsUrl: requiredString(service, 'context_memberships_url', 'namesroleservice.context_memberships_url', 2048),
    serviceVersions: service.service_versions === undefined ? [] : stringArray(service.service_versions, 'namesroleservice.service_versions')
  }
}

function readLti1p1 (claims: Claims): Lti13Launch['lti1p1'] {
  const claim = optionalRecord(claims, LtiClaim.lti1p1, 'lti1p1')
  if (claim === undefined) return undefined
  return {
    userId: optionalString(claim, 'user_id', 'lti1p1.user_id'),
    oauthConsumerKey: optionalString(claim, 'oauth_consumer_key', 'lti1p1.oauth_consumer_key'),
    oauthConsumerKeySign: optionalString(claim, 'oauth_consumer_key_sign', 'lti1p1.oauth_consumer_key_sign'),
    resourceLinkId: optionalString(claim, 'resource_link_id', 'lti1p1.resource_link_id')
  }
}

function readLaunchPresentation (claims: Claims): Lti13Launch['launchPresentation'] {
  const lp = optionalRecord(claims, LtiClaim.launchPresentation, 'launch_presentation')
  if (lp === undefined) return undefined
  return {
    documentTarget: optionalString(lp, 'document_target', 'launch_presentation.document_target'),
    returnUrl: optionalString(lp, 'return_url', 'launch_presentation.return_url', 2048),
    locale: optionalString(lp, 'locale', 'launch_presentation.locale'),
    width: optionalNumber(lp, 'width', 'launch_presentation.width'),
    height: optionalNumber(lp, 'height', 'launch_presentation.height')
  }
}

function readToolPlatform (claims: Claims): Lti13Launch['toolPlatform'] {
  const tp = optionalRecord(claims, LtiClaim.toolPlatform, 'tool_platform')
  if (tp === undefined) return undefined
  return {
    guid: optionalString(tp, 'guid', 'tool_platform.guid'),
    name: optionalString(tp, 'name', 'tool_platform.name'),
    productFamilyCode: optionalString(tp, 'product_family_code', 'tool_platform.product_family_code'),
    version: optionalString(tp, 'version', 'tool_platform.version')
  }
}
