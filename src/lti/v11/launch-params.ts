import { lti11Error } from './errors.js'
import { toParamPairs, truncateName, type ParamInput, type ParamPair } from './request-params.js'

export const LTI11_MESSAGE_TYPE = 'basic-lti-launch-request'
export const LTI11_VERSION = 'LTI-1p0'

/** A validated LTI 1.1 basic launch: only what the launch service uses, typed. */
export interface Lti11Launch {
  messageType: typeof LTI11_MESSAGE_TYPE
  ltiVersion: string
  resourceLinkId: string
  resourceLinkTitle: string | undefined
  /** The consumer's opaque id of the learner (never an LMS id). */
  userId: string
  /** `roles`, split on commas, trimmed; may be empty (edx-platform accepts an empty value). */
  roles: string[]
  contextId: string
  contextTitle: string | undefined
  contextLabel: string | undefined
  /** Opaque: Open edX puts several `:` and `+` in it. Present only with an outcome URL to use it. */
  lisResultSourcedid: string | undefined
  lisOutcomeServiceUrl: string | undefined
  toolConsumerInstanceGuid: string | undefined
  toolConsumerInfoProductFamilyCode: string | undefined
  person: {
    sourcedid: string | undefined
    nameGiven: string | undefined
    nameFamily: string | undefined
    nameFull: string | undefined
    contactEmailPrimary: string | undefined
  }
  /** `custom_*` parameters, keyed without the `custom_` prefix. */
  custom: Record<string, string>
  /** `launch_presentation_*` parameters, keyed without the prefix (`return_url`, `document_target`…). */
  launchPresentation: Record<string, string>
}

export interface ParseLaunchOptions {
  /** `lti_version` values accepted; default `['LTI-1p0']` (relax only per named platform). */
  acceptedVersions?: readonly string[]
}

/** Parameters we read as one value each: a repeated one is refused, whichever copy was meant. */
const SINGLE_VALUED = new Set([
  'lti_message_type', 'lti_version', 'resource_link_id', 'resource_link_title', 'user_id', 'roles',
  'context_id', 'context_title', 'context_label', 'lis_result_sourcedid', 'lis_outcome_service_url',
  'tool_consumer_instance_guid', 'tool_consumer_info_product_family_code'
])
const SINGLE_VALUED_PREFIXES = ['custom_', 'lis_person_', 'launch_presentation_']

/**
 * Validates the form body of a launch whose signature was already verified. Order: repeated
 * parameters → message type → version → required identifiers (edx-platform's `roles`,
 * `context_id`, `user_id`, plus `resource_link_id`) → outcome URL shape. Only the body is read:
 * a query string is signed but does not carry launch data.
 */
export function parseLti11Launch (body: ParamInput, options: ParseLaunchOptions = {}): Lti11Launch {
  const params = singleValued(toParamPairs(body))
  const get = (name: string): string | undefined => params.get(name)

  const messageType = get('lti_message_type')
  if (messageType === undefined) throw lti11Error('LTI11_MISSING_PARAM', { name: 'lti_message_type' })
  if (messageType !== LTI11_MESSAGE_TYPE) throw lti11Error('LTI11_BAD_MESSAGE_TYPE', { received: truncateName(messageType) })

  const ltiVersion = get('lti_version')
  if (ltiVersion === undefined) throw lti11Error('LTI11_MISSING_PARAM', { name: 'lti_version' })
  if (!(options.acceptedVersions ?? [LTI11_VERSION]).includes(ltiVersion)) throw lti11Error('LTI11_BAD_VERSION', { received: truncateName(ltiVersion) })

  const required = (name: string, allowEmpty = false): string => {
    const value = get(name)
    if (value === undefined || (!allowEmpty && value.trim() === '')) throw lti11Error('LTI11_MISSING_PARAM', { name })
    return value
  }
  const resourceLinkId = required('resource_link_id')
  const userId = stored('user_id', required('user_id'))
  const contextId = required('context_id')
  const roles = required('roles', true)

  const lisOutcomeServiceUrl = nonEmpty(get('lis_outcome_service_url'))
  if (lisOutcomeServiceUrl !== undefined && !isHttpUrl(lisOutcomeServiceUrl)) {
    throw lti11Error('LTI11_MALFORMED_PARAM', { name: 'lis_outcome_service_url', reason: 'not an absolute http(s) URL' })
  }

  return {
    messageType: LTI11_MESSAGE_TYPE,
    ltiVersion,
    resourceLinkId,
    resourceLinkTitle: nonEmpty(get('resource_link_title')),
    userId,
    roles: roles.split(',').map(role => role.trim()).filter(role => role !== ''),
    contextId,
    contextTitle: nonEmpty(get('context_title')),
    contextLabel: nonEmpty(get('context_label')),
    lisResultSourcedid: nonEmpty(get('lis_result_sourcedid')),
    lisOutcomeServiceUrl,
    toolConsumerInstanceGuid: stored('tool_consumer_instance_guid', nonEmpty(get('tool_consumer_instance_guid'))),
    toolConsumerInfoProductFamilyCode: nonEmpty(get('tool_consumer_info_product_family_code')),
    person: {
      sourcedid: nonEmpty(get('lis_person_sourcedid')),
      nameGiven: nonEmpty(get('lis_person_name_given')),
      nameFamily: nonEmpty(get('lis_person_name_family')),
      nameFull: nonEmpty(get('lis_person_name_full')),
      contactEmailPrimary: nonEmpty(get('lis_person_contact_email_primary'))
    },
    custom: withPrefix(params, 'custom_'),
    launchPresentation: withPrefix(params, 'launch_presentation_')
  }
}

function singleValued (pairs: ReadonlyArray<ParamPair>): Map<string, string> {
  const params = new Map<string, string>()
  for (const [name, value] of pairs) {
    const mustBeSingle = SINGLE_VALUED.has(name) || SINGLE_VALUED_PREFIXES.some(prefix => name.startsWith(prefix))
    if (!mustBeSingle) continue
    if (params.has(name)) throw lti11Error('LTI11_DUPLICATE_PARAM', { name: truncateName(name) })
    params.set(name, value)
  }
  return params
}

/** A Map → record with own properties only, so a `custom___proto__` parameter stays plain data. */
function withPrefix (params: Map<string, string>, prefix: string): Record<string, string> {
  const entries = [...params].filter(([name]) => name.startsWith(prefix) && name.length > prefix.length)
  return Object.fromEntries(entries.map(([name, value]) => [name.slice(prefix.length), value]))
}

/** Identifiers kept in 255-character columns: longer ones are refused here, not by a failed insert. */
const MAX_STORED_LENGTH = 255

function stored<T extends string | undefined> (name: string, value: T): T {
  // Code points, as MariaDB counts a utf8mb4 VARCHAR's characters.
  if (typeof value === 'string' && value.length > MAX_STORED_LENGTH && Array.from(value).length > MAX_STORED_LENGTH) {
    throw lti11Error('LTI11_MALFORMED_PARAM', { name, reason: 'too long' })
  }
  return value
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function isHttpUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:'
  } catch {
    return false
  }
}
