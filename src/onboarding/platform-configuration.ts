/**
 * Reading a platform's OpenID configuration (LTI Dynamic Registration 1.0 §3.4, wire-formats.md §11)
 * and deciding whether we may register with it. Pure: the caller fetched the document.
 *
 * Checks, each a coded refusal: required fields present; every URL absolute HTTPS (loopback HTTP
 * only in tests and the demo); the issuer's origin equals the origin the configuration came from
 * (Canvas Cloud serves it from the school's host under the issuer canvas.instructure.com: allowed
 * only when the invite lists that host); registration, JWKS, authorization and token endpoints on
 * the issuer's origin or on hosts the invite allows; private_key_jwt and RS256 offered when the
 * platform lists what it supports.
 */
import { platformUrlProblem, type PlatformUrlPolicy } from '../admin/platform-url-rule.js'
import { isHostAllowed } from '../http/host-allow-list.js'
import { DrErrors } from './errors.js'

export const PLATFORM_CONFIGURATION_CLAIM = 'https://purl.imsglobal.org/spec/lti-platform-configuration'

export interface PlatformConfiguration {
  issuer: string
  authorizationEndpoint: string
  tokenEndpoint: string
  jwksUri: string
  registrationEndpoint: string
  /** `authorization_server`: the aud of client assertions when it differs from the token URL. */
  authorizationServer: string | null
  productFamilyCode: string | null
  /** Message types, whether the platform lists strings (Moodle) or objects with `type` (Canvas). */
  messagesSupported: string[] | null
  scopesSupported: string[] | null
}

export interface ConfigurationPolicy extends PlatformUrlPolicy {
  /** The invite's extra hosts (exact or *.suffix), e.g. Canvas Cloud's sso.canvaslms.com. */
  allowedHosts: readonly string[]
}

const ENDPOINTS = [
  ['authorization_endpoint', 'authorizationEndpoint'],
  ['token_endpoint', 'tokenEndpoint'],
  ['jwks_uri', 'jwksUri'],
  ['registration_endpoint', 'registrationEndpoint']
] as const

function stringList (value: unknown): string[] | null {
  if (!Array.isArray(value)) return null
  return value.filter((v): v is string => typeof v === 'string')
}

/** Moodle: ["LtiResourceLinkRequest", …]; Canvas: [{type: "LtiResourceLinkRequest", placements: […]}, …]. */
export function messageTypes (value: unknown): string[] | null {
  if (!Array.isArray(value)) return null
  const types: string[] = []
  for (const item of value) {
    if (typeof item === 'string') types.push(item)
    else if (typeof item === 'object' && item !== null && typeof (item as { type?: unknown }).type === 'string') types.push((item as { type: string }).type)
  }
  return types
}

function invalid (field: string, problem: string): never {
  throw DrErrors('DR_CONFIG_INVALID', { field, problem })
}

export function readPlatformConfiguration (doc: unknown, configurationUrl: string, policy: ConfigurationPolicy): PlatformConfiguration {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) invalid('(document)', 'is not a JSON object')
  const d = doc as Record<string, unknown>
  const url = (field: string): string => {
    const value = d[field]
    if (typeof value !== 'string' || value === '') invalid(field, 'is missing')
    const problem = platformUrlProblem(value, policy)
    if (problem !== null) invalid(field, problem)
    return value
  }
  const issuer = url('issuer')
  const issuerUrl = new URL(issuer)
  const fromUrl = new URL(configurationUrl)
  if (fromUrl.origin !== issuerUrl.origin && !isHostAllowed(fromUrl.hostname, policy.allowedHosts)) {
    throw DrErrors('DR_ISSUER_MISMATCH', { issuerHost: issuerUrl.host, configurationHost: fromUrl.host })
  }
  const endpoints = {} as Record<typeof ENDPOINTS[number][1], string>
  for (const [field, key] of ENDPOINTS) {
    const value = url(field)
    const endpoint = new URL(value)
    if (endpoint.origin !== issuerUrl.origin && !isHostAllowed(endpoint.hostname, policy.allowedHosts)) {
      throw DrErrors('DR_ENDPOINT_NOT_ALLOWED', { field, host: endpoint.host, issuerHost: issuerUrl.host })
    }
    endpoints[key] = value
  }
  const platform = d[PLATFORM_CONFIGURATION_CLAIM]
  if (typeof platform !== 'object' || platform === null || Array.isArray(platform)) invalid(PLATFORM_CONFIGURATION_CLAIM, 'is missing')
  const p = platform as Record<string, unknown>

  const authMethods = stringList(d.token_endpoint_auth_methods_supported)
  if (authMethods !== null && !authMethods.includes('private_key_jwt')) invalid('token_endpoint_auth_methods_supported', 'does not offer private_key_jwt')
  const algs = stringList(d.id_token_signing_alg_values_supported)
  if (algs !== null && !algs.includes('RS256')) invalid('id_token_signing_alg_values_supported', 'does not offer RS256')

  // Optional and not always a URL in the wild: used as the client-assertion aud only when it is one we could call.
  const server = d.authorization_server
  const authorizationServer = typeof server === 'string' && platformUrlProblem(server, policy) === null ? server : null
  return {
    issuer,
    ...endpoints,
    authorizationServer,
    productFamilyCode: typeof p.product_family_code === 'string' ? p.product_family_code.slice(0, 64) : null,
    messagesSupported: messageTypes(p.messages_supported),
    scopesSupported: stringList(d.scopes_supported)
  }
}
