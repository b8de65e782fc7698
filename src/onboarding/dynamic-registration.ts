/**
 * LTI Dynamic Registration 1.0, tool side (issue 15 §2, wire-formats.md §11): our one-time invite
 * is claimed, the platform's OpenID configuration fetched with its registration token and checked,
 * our client registration POSTed, and the registration (+ deployment, when the platform returns
 * one) stored in one transaction together with the invite's outcome.
 *
 * Every platform URL goes through the SSRF-guarded `platform` outbound client. Any failure after
 * the claim gives the invite back and stores nothing, so the platform admin may simply retry.
 */
import type { Knex } from 'knex'
import { isAppError } from '../errors.js'
import { isUniqueViolation } from '../db/connection.js'
import type { OutboundClient, OutboundResponse } from '../http/outbound-client.js'
import { platformUrlProblem } from '../admin/platform-url-rule.js'
import { createLti13RegistrationsRepository } from '../db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../db/repositories/lti13-deployments-repository.js'
import { createRegistrationInvitesRepository, type RegistrationInvite } from '../db/repositories/registration-invites-repository.js'
import { RegistrationDefaults } from '../lti/v13/registration.js'
import type { RegistrationOutcome } from '../views/registration-page.js'
import { DrErrors, type DrErrorCode } from './errors.js'
import { inviteTokenHash, isInviteTokenShape } from './invite-token.js'
import { readPlatformConfiguration, type PlatformConfiguration } from './platform-configuration.js'
import { clientRegistrationRequest, readRegistrationAnswer, registrationWarnings } from './client-registration.js'
import type { ToolIdentity } from './tool-configuration.js'

export interface DynamicRegistrationOptions {
  knex: Knex
  outbound: OutboundClient
  tool: ToolIdentity
  allowLoopbackHttp: boolean
  timeoutMs: number
  now?: () => number
}

/** Query parameters as the route received them (a repeated one arrives as an array). */
export type RegisterParams = Record<string, unknown>

interface StartRequest { invite: string, configurationUrl: string, registrationToken: string | null }

const MAX_TOKEN_LENGTH = 8192

function single (params: RegisterParams, name: string): string | undefined {
  const value = params[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw DrErrors('DR_BAD_REQUEST', { parameter: name, problem: 'repeated' })
  return value
}

function readStart (params: RegisterParams, allowLoopbackHttp: boolean): StartRequest {
  const invite = single(params, 'invite')
  const configurationUrl = single(params, 'openid_configuration')
  const token = single(params, 'registration_token')
  if (invite === undefined || invite === '') throw DrErrors('DR_BAD_REQUEST', { parameter: 'invite', problem: 'missing' })
  if (configurationUrl === undefined || configurationUrl === '') throw DrErrors('DR_BAD_REQUEST', { parameter: 'openid_configuration', problem: 'missing' })
  const problem = platformUrlProblem(configurationUrl, { allowLoopbackHttp })
  if (problem !== null) throw DrErrors('DR_BAD_REQUEST', { parameter: 'openid_configuration', problem })
  if (token !== undefined && (token.length > MAX_TOKEN_LENGTH || /[\s\u0000-\u001f\u007f]/.test(token))) {
    throw DrErrors('DR_BAD_REQUEST', { parameter: 'registration_token', problem: 'too long or not a token' })
  }
  return { invite, configurationUrl, registrationToken: token === undefined || token === '' ? null : token }
}

/** A short, single-line reason from a platform's error body (Canvas: {"errors": […]}), for the admin. */
function platformReason (body: Buffer): string | undefined {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  const d = doc as Record<string, unknown> | null
  const parts: string[] = []
  const collect = (v: unknown): void => {
    if (typeof v === 'string') parts.push(v)
    else if (typeof v === 'object' && v !== null && typeof (v as { message?: unknown }).message === 'string') parts.push((v as { message: string }).message)
  }
  if (Array.isArray(d?.errors)) d.errors.forEach(collect)
  collect(d?.error_description)
  collect(d?.error)
  const text = parts.join('; ').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim()
  return text === '' ? undefined : text.slice(0, 300)
}

function parseJson (res: OutboundResponse, code: DrErrorCode): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'))
  } catch {
    throw DrErrors(code, { platformStatus: res.status, contentType: String(res.headers['content-type'] ?? '') })
  }
}

export function createDynamicRegistration (opts: DynamicRegistrationOptions) {
  const invites = createRegistrationInvitesRepository(opts.knex)
  const now = opts.now ?? Date.now

  async function call (code: DrErrorCode, request: Parameters<OutboundClient['request']>[0]): Promise<OutboundResponse> {
    try {
      return await opts.outbound.request({ timeoutMs: opts.timeoutMs, ...request })
    } catch (err) {
      if (isAppError(err)) throw DrErrors(code, { outbound: err.code, ...err.details }, { cause: err })
      throw err
    }
  }

  /** The single-use decision, then why an invite that lost it is refused. */
  async function claim (token: string): Promise<RegistrationInvite> {
    const hash = isInviteTokenShape(token) ? inviteTokenHash(token) : null
    const at = now()
    if (hash !== null && await invites.claim(hash, at)) {
      const invite = await invites.findByHash(hash)
      /* c8 ignore next -- read back right after the claim; only a concurrent delete could get here */
      if (!invite) throw DrErrors('DR_INVITE_UNKNOWN')
      return invite
    }
    const invite = hash === null ? undefined : await invites.findByHash(hash)
    if (!invite) throw DrErrors('DR_INVITE_UNKNOWN')
    if (invite.usedAt !== null) throw DrErrors('DR_INVITE_USED', { inviteId: invite.id })
    throw DrErrors('DR_INVITE_EXPIRED', { inviteId: invite.id })
  }

  async function fetchConfiguration (start: StartRequest, invite: RegistrationInvite): Promise<PlatformConfiguration> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (start.registrationToken !== null) headers.authorization = `Bearer ${start.registrationToken}`
    const res = await call('DR_CONFIG_FETCH_FAILED', { url: start.configurationUrl, method: 'GET', headers })
    if (res.status < 200 || res.status > 299) throw DrErrors('DR_CONFIG_FETCH_FAILED', { platformStatus: res.status })
    const doc = parseJson(res, 'DR_CONFIG_NOT_JSON')
    return readPlatformConfiguration(doc, start.configurationUrl, { allowLoopbackHttp: opts.allowLoopbackHttp, allowedHosts: invite.allowedHosts })
  }

  async function postRegistration (platform: PlatformConfiguration, start: StartRequest) {
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' }
    if (start.registrationToken !== null) headers.authorization = `Bearer ${start.registrationToken}`
    const res = await call('DR_REGISTRATION_FAILED', {
      url: platform.registrationEndpoint, method: 'POST', headers, body: JSON.stringify(clientRegistrationRequest(opts.tool))
    })
    if (res.status < 200 || res.status > 299) {
      const reason = platformReason(res.body)
      throw DrErrors('DR_REGISTRATION_REFUSED', { platformStatus: res.status, ...(reason === undefined ? {} : { platformReason: reason }) })
    }
    return readRegistrationAnswer(parseJson(res, 'DR_REGISTRATION_NOT_JSON'))
  }

  async function store (invite: RegistrationInvite, platform: PlatformConfiguration, answer: ReturnType<typeof readRegistrationAnswer>, warnings: string[]): Promise<RegistrationOutcome> {
    const at = now()
    const name = `${platform.productFamilyCode ?? 'platform'} ${new URL(platform.issuer).host}`.slice(0, 255)
    return await opts.knex.transaction(async trx => {
      let registrationId: number
      try {
        registrationId = await createLti13RegistrationsRepository(opts.knex).insert({
          name,
          issuer: platform.issuer,
          clientId: answer.clientId,
          authLoginUrl: platform.authorizationEndpoint,
          authTokenUrl: platform.tokenEndpoint,
          authTokenAudience: platform.authorizationServer,
          jwksUrl: platform.jwksUri,
          // Canvas creates deployments when the tool is installed: accept and record them then.
          deploymentPolicy: answer.deploymentId === null ? 'record' : 'strict',
          contentScope: invite.contentScope,
          usePii: false,
          allowAnonymous: false,
          allowedAlgorithms: [...RegistrationDefaults.algorithms],
          allowedHosts: invite.allowedHosts,
          tokenMaxAge: RegistrationDefaults.maxTokenAgeSeconds,
          lti11ConsumerId: null,
          active: invite.autoActivate,
          createdAt: at,
          updatedAt: at
        }, trx)
      } catch (err) {
        if (isUniqueViolation(err)) throw DrErrors('DR_ALREADY_REGISTERED', { clientId: answer.clientId }, { cause: err })
        throw err
      }
      if (answer.deploymentId !== null) {
        await createLti13DeploymentsRepository(opts.knex).insert({ registrationId, deploymentId: answer.deploymentId, source: 'registered', createdAt: at }, trx)
      }
      await invites.complete(invite.id, registrationId, warnings, trx)
      return {
        registrationId,
        name,
        issuer: platform.issuer,
        clientId: answer.clientId,
        deploymentId: answer.deploymentId,
        active: invite.autoActivate,
        warnings
      }
    })
  }

  return {
    async register (params: RegisterParams): Promise<RegistrationOutcome & { inviteId: number }> {
      const start = readStart(params, opts.allowLoopbackHttp)
      const invite = await claim(start.invite)
      try {
        const platform = await fetchConfiguration(start, invite)
        const answer = await postRegistration(platform, start)
        const warnings = registrationWarnings(answer, platform)
        return { ...await store(invite, platform, answer, warnings), inviteId: invite.id }
      } catch (err) {
        await invites.release(invite.id)
        throw err
      }
    }
  }
}

export type DynamicRegistration = ReturnType<typeof createDynamicRegistration>
