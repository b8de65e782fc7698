/**
 * What the core needs to know about one platform registration (issuer + client_id), and the
 * storage interfaces it reads registrations and deployments through. The database adapter maps
 * its rows onto these shapes; nothing here knows about tables.
 */

/** Asymmetric JWS algorithms a registration may opt into. HS* and `none` are never acceptable. */
export const SignatureAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const
export type SignatureAlgorithm = typeof SignatureAlgorithms[number]

/** `strict`: only deployments an admin listed; `record`: accept a new deployment and record it. */
export type DeploymentPolicy = 'strict' | 'record'

export type RegistrationId = string | number

export interface Lti13Registration {
  id: RegistrationId
  issuer: string
  clientId: string
  /** The platform's OIDC authorization endpoint (where the login redirects the browser). */
  authLoginUrl: string
  jwksUrl: string
  authTokenUrl?: string | undefined
  /** False when an admin has not activated it (Dynamic Registration) or disabled it. */
  active?: boolean | undefined
  deploymentPolicy: DeploymentPolicy
  /** Allowed id_token algorithms; default ['RS256']. */
  algorithms?: readonly SignatureAlgorithm[] | undefined
  /** Clock leeway for exp/iat/nbf; default 60 s. */
  clockLeewaySeconds?: number | undefined
  /** Maximum age of an id_token measured from its iat; default 300 s. */
  maxTokenAgeSeconds?: number | undefined
  /** Accept launches without `sub` (LTI 1.3 §5.3.6 anonymous launches); default false. */
  allowAnonymous?: boolean | undefined
}

/** What a registration gets for what it leaves unset: the launch check and the admin API read the same values. */
export const RegistrationDefaults = {
  deploymentPolicy: 'strict',
  algorithms: ['RS256'] as readonly SignatureAlgorithm[],
  clockLeewaySeconds: 60,
  maxTokenAgeSeconds: 300
} as const

/**
 * Registrations for an issuer. With `clientId`, an implementation may filter by it; the core
 * filters again, so returning every registration of the issuer is also correct.
 */
export type FindRegistrations = (issuer: string, clientId?: string) => Promise<readonly Lti13Registration[]>

/** Known deployments per registration. `record` must be idempotent (insert or ignore the duplicate). */
export interface DeploymentRegistry {
  isKnown (registrationId: RegistrationId, deploymentId: string): Promise<boolean>
  record (registrationId: RegistrationId, deploymentId: string): Promise<void>
}

/** The algorithms a registration accepts, limited to the asymmetric allow-list whatever it stores. */
export function allowedAlgorithms (registration: Lti13Registration): SignatureAlgorithm[] {
  const wanted = registration.algorithms ?? RegistrationDefaults.algorithms
  return wanted.filter(alg => (SignatureAlgorithms as readonly string[]).includes(alg))
}

export function sameRegistrationId (a: RegistrationId, b: RegistrationId): boolean {
  return String(a) === String(b)
}
