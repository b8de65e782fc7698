/**
 * The client registration we POST to the platform (LTI Dynamic Registration 1.0 §3.5) and the
 * reading of its answer (§3.6). Pure. The answer's deployment id is optional: Moodle returns one
 * inside the tool-configuration claim; Canvas creates deployments later, when the tool is installed.
 */
import { toolUrls } from '../lti/v13/tool-urls.js'
import { DrErrors } from './errors.js'
import { messageTarget, REQUESTED_SCOPES, SUPPORTED_MESSAGES, toolDomain, type ToolIdentity } from './tool-configuration.js'
import { MessageType } from '../lti/claims.js'

export const TOOL_CONFIGURATION_CLAIM = 'https://purl.imsglobal.org/spec/lti-tool-configuration'

/** Claims we read from id_tokens; platforms share only what they list here (and their privacy settings allow). */
const CLAIMS = ['iss', 'sub', 'name', 'given_name', 'family_name', 'email']

export function clientRegistrationRequest (tool: ToolIdentity): Record<string, unknown> {
  const urls = toolUrls(tool.publicUrl)
  return {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: urls.loginUrl,
    redirect_uris: [urls.redirectUri],
    client_name: tool.title,
    jwks_uri: urls.jwksUrl,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: REQUESTED_SCOPES.join(' '),
    [TOOL_CONFIGURATION_CLAIM]: {
      domain: toolDomain(tool.publicUrl),
      description: tool.description,
      target_link_uri: urls.redirectUri,
      claims: CLAIMS,
      // Launches at the generic target; content selection at the deep-linking URL.
      messages: SUPPORTED_MESSAGES.map(type => ({ type, target_link_uri: messageTarget(type, tool.publicUrl), label: tool.title }))
    }
  }
}

export interface RegistrationAnswer {
  clientId: string
  deploymentId: string | null
  /** Scopes the platform granted, when it says (a space-separated `scope`). */
  grantedScopes: string[] | null
}

const ID = /^\S(?:.*\S)?$/

function identifier (value: unknown): string | null {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value)
  if (typeof value !== 'string' || value.length > 255 || !ID.test(value)) return null
  return value
}

export function readRegistrationAnswer (doc: unknown): RegistrationAnswer {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw DrErrors('DR_REGISTRATION_INVALID', { problem: 'not a JSON object' })
  const d = doc as Record<string, unknown>
  const clientId = identifier(d.client_id)
  if (clientId === null) throw DrErrors('DR_REGISTRATION_INVALID', { problem: 'client_id missing or not an identifier' })
  const config = d[TOOL_CONFIGURATION_CLAIM]
  const rawDeployment = typeof config === 'object' && config !== null ? (config as Record<string, unknown>).deployment_id : undefined
  const deploymentId = rawDeployment === undefined || rawDeployment === null ? null : identifier(rawDeployment)
  if (rawDeployment !== undefined && rawDeployment !== null && deploymentId === null) {
    throw DrErrors('DR_REGISTRATION_INVALID', { problem: 'deployment_id is not an identifier' })
  }
  const grantedScopes = typeof d.scope === 'string' ? d.scope.split(/\s+/).filter(s => s !== '') : null
  return { clientId, deploymentId, grantedScopes }
}

/**
 * What the platform gave less than asked, in words an admin acts on. Granted scopes are compared
 * when the answer says; otherwise the configuration's `scopes_supported`; otherwise nothing is known.
 */
export function registrationWarnings (answer: RegistrationAnswer, platform: { scopesSupported: string[] | null, messagesSupported: string[] | null }): string[] {
  const warnings: string[] = []
  const known = answer.grantedScopes ?? platform.scopesSupported
  if (known !== null) {
    const missing = REQUESTED_SCOPES.filter(s => !known.includes(s))
    if (missing.length > 0) {
      const source = answer.grantedScopes !== null ? 'granted' : 'supports'
      warnings.push(`The platform ${source} fewer scopes than asked; missing: ${missing.join(', ')}.` +
        (missing.includes(REQUESTED_SCOPES[0] as string) ? ' Grades cannot be sent back until the score scope is allowed.' : ''))
    }
  }
  const messages = platform.messagesSupported
  if (messages !== null && !messages.includes(MessageType.resourceLinkRequest)) {
    warnings.push('The platform does not list LtiResourceLinkRequest among its supported messages.')
  }
  if (messages !== null && !messages.includes(MessageType.deepLinkingRequest)) {
    warnings.push('The platform does not list LtiDeepLinkingRequest: instructors cannot select content from it; they paste content URLs instead.')
  }
  return warnings
}
