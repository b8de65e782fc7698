import { lti13Error } from './errors.js'
import { randomToken } from './random-token.js'
import { sha256Base64url } from './safe-equal.js'
import { DEFAULT_STATE_TTL_SECONDS, signStateToken } from './state-token.js'
import { parseTargetLinkUri, toolUrls } from './tool-urls.js'
import type { DeploymentRegistry, FindRegistrations, Lti13Registration } from './registration.js'
import type { StateStore } from './state-store.js'

/**
 * Third-party initiated login (OIDC Core §4, LTI 1.3 §5.1.1, wire-formats.md §5): from the
 * platform's login initiation to the authentication request we redirect the browser to.
 */

export interface OidcLoginParams {
  iss: string
  loginHint: string
  targetLinkUri: string
  ltiMessageHint?: string | undefined
  clientId?: string | undefined
  ltiDeploymentId?: string | undefined
  ltiStorageTarget?: string | undefined
}

export interface OidcLoginDeps {
  findRegistrations: FindRegistrations
  deployments: Pick<DeploymentRegistry, 'isKnown'>
  stateStore: StateStore
  /** From deriveStateKey(SECRET_KEY). */
  stateKey: Uint8Array
  publicUrl: string
  now?: (() => number) | undefined
  stateTtlSeconds?: number | undefined
}

export interface OidcLoginResult {
  /** Where to send the browser (302, or the platform-storage page's next step). */
  redirectUrl: string
  registration: Lti13Registration
  state: string
  stateId: string
  nonce: string
  /**
   * Secret tying the launch to this browser. The adapter keeps it in a `__Host-` cookie and, when
   * `platformStorage` is set, in platform storage too; at launch it hands it back to the validator.
   */
  binding: string
  expiresAt: Date
  /** Set when the platform offered postMessage storage (lti_storage_target). */
  platformStorage?: { frame: string, targetOrigin: string } | undefined
}

/** Parameter name → [required, maximum length]. Lengths bound what we sign and store. */
const LOGIN_PARAMS = {
  iss: [true, 1024],
  login_hint: [true, 2048],
  target_link_uri: [true, 2048],
  lti_message_hint: [false, 4096],
  client_id: [false, 255],
  lti_deployment_id: [false, 255],
  lti_storage_target: [false, 255]
} as const

type LoginParamName = keyof typeof LOGIN_PARAMS

/**
 * Reads the login initiation from a GET query or a form body, merged by the adapter. A repeated
 * parameter (array) or a non-string is refused rather than guessed at.
 */
export function readLoginParams (raw: Record<string, unknown>): OidcLoginParams {
  const value = (name: LoginParamName): string | undefined => {
    const [required, max] = LOGIN_PARAMS[name]
    const v = raw[name]
    if (v === undefined || v === '') {
      if (required) throw lti13Error('LTI13_LOGIN_MISSING_PARAM', { param: name })
      return undefined
    }
    if (typeof v !== 'string') throw lti13Error('LTI13_LOGIN_INVALID_PARAM', { param: name, reason: 'not a single string' })
    if (v.length > max) throw lti13Error('LTI13_LOGIN_INVALID_PARAM', { param: name, reason: 'too long' })
    return v
  }
  const storageTarget = value('lti_storage_target')
  if (storageTarget !== undefined && !/^[\x21-\x7e]+$/.test(storageTarget)) {
    throw lti13Error('LTI13_LOGIN_INVALID_PARAM', { param: 'lti_storage_target', reason: 'not a frame name' })
  }
  return {
    iss: value('iss') as string,
    loginHint: value('login_hint') as string,
    targetLinkUri: value('target_link_uri') as string,
    ltiMessageHint: value('lti_message_hint'),
    clientId: value('client_id'),
    ltiDeploymentId: value('lti_deployment_id'),
    ltiStorageTarget: storageTarget
  }
}

/**
 * Registration by `iss` (+ `client_id` when sent). Several clients for the issuer and no
 * `client_id`: the one that knows `lti_deployment_id`, else a clear refusal; never "the first"
 * (ltijs' behaviour, lti-checklist.md §2 #1).
 */
export async function resolveLoginRegistration (
  params: Pick<OidcLoginParams, 'iss' | 'clientId' | 'ltiDeploymentId'>,
  deps: Pick<OidcLoginDeps, 'findRegistrations' | 'deployments'>
): Promise<Lti13Registration> {
  const found = await deps.findRegistrations(params.iss, params.clientId)
  let candidates = found.filter(r => r.issuer === params.iss && (params.clientId === undefined || r.clientId === params.clientId))
  if (candidates.length === 0) {
    throw lti13Error('LTI13_UNKNOWN_REGISTRATION', { issuer: params.iss, clientId: params.clientId })
  }
  if (candidates.length > 1) {
    const deploymentId = params.ltiDeploymentId
    if (params.clientId !== undefined || deploymentId === undefined) {
      throw lti13Error('LTI13_AMBIGUOUS_REGISTRATION', { issuer: params.iss, candidates: candidates.length })
    }
    const knowing: Lti13Registration[] = []
    for (const candidate of candidates) {
      if (await deps.deployments.isKnown(candidate.id, deploymentId)) knowing.push(candidate)
    }
    if (knowing.length !== 1) {
      throw lti13Error('LTI13_AMBIGUOUS_REGISTRATION', { issuer: params.iss, candidates: candidates.length, deploymentMatches: knowing.length })
    }
    candidates = knowing
  }
  const registration = candidates[0] as Lti13Registration
  if (registration.active === false) throw lti13Error('LTI13_REGISTRATION_INACTIVE', { registrationId: registration.id })
  return registration
}

export interface AuthRequest {
  authLoginUrl: string
  clientId: string
  redirectUri: string
  loginHint: string
  state: string
  nonce: string
  ltiMessageHint?: string | undefined
}

/** The authentication request URL (pure). Query parameters already on the endpoint are kept. */
export function buildAuthRequestUrl (request: AuthRequest): string {
  const url = new URL(request.authLoginUrl)
  const q = url.searchParams
  q.set('scope', 'openid')
  q.set('response_type', 'id_token')
  q.set('response_mode', 'form_post')
  q.set('prompt', 'none')
  q.set('client_id', request.clientId)
  q.set('redirect_uri', request.redirectUri)
  q.set('login_hint', request.loginHint)
  q.set('state', request.state)
  q.set('nonce', request.nonce)
  // Echoed byte for byte: the platform uses it to find the launch it is answering.
  if (request.ltiMessageHint !== undefined) q.set('lti_message_hint', request.ltiMessageHint)
  return url.href
}

/** Login initiation → saved state + authentication request. */
export async function startOidcLogin (raw: Record<string, unknown>, deps: OidcLoginDeps): Promise<OidcLoginResult> {
  const params = readLoginParams(raw)
  if (parseTargetLinkUri(params.targetLinkUri, deps.publicUrl) === null) {
    throw lti13Error('LTI13_BAD_TARGET_LINK_URI', { where: 'login' })
  }
  const registration = await resolveLoginRegistration(params, deps)
  const now = (deps.now ?? Date.now)()
  const ttlSeconds = deps.stateTtlSeconds ?? DEFAULT_STATE_TTL_SECONDS
  const platformStorage = params.ltiStorageTarget === undefined
    ? undefined
    : { frame: params.ltiStorageTarget, targetOrigin: new URL(registration.authLoginUrl).origin }

  const stateId = randomToken(32)
  const nonce = randomToken(32)
  const binding = randomToken(32)
  const expiresAt = new Date(now + ttlSeconds * 1000)
  const state = await signStateToken(
    { stateId, storageTarget: platformStorage?.frame, platformOrigin: platformStorage?.targetOrigin },
    deps.stateKey,
    { now, ttlSeconds }
  )
  await deps.stateStore.save({
    stateId,
    nonce,
    registrationId: registration.id,
    bindingHash: sha256Base64url(binding),
    targetLinkUri: params.targetLinkUri,
    expiresAt
  })
  const redirectUrl = buildAuthRequestUrl({
    authLoginUrl: registration.authLoginUrl,
    clientId: registration.clientId,
    redirectUri: toolUrls(deps.publicUrl).redirectUri,
    loginHint: params.loginHint,
    state,
    nonce,
    ltiMessageHint: params.ltiMessageHint
  })
  return { redirectUrl, registration, state, stateId, nonce, binding, expiresAt, platformStorage }
}
