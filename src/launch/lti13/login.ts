/**
 * LTI 1.3 third-party initiated login, wired to the database: the core (src/lti/v13/oidc-login.ts)
 * finds the registration, mints state and nonce and builds the authentication request; this saves
 * the state, and says how the browser keeps its binding: always a `__Host-` cookie, and when the
 * platform offered `lti_storage_target`, also platform storage through a short page that stores
 * it before going on to the platform's auth endpoint.
 */
import type { Knex } from 'knex'
import type { FastifyBaseLogger } from 'fastify'
import { startOidcLogin } from '../../lti/v13/oidc-login.js'
import { renderLoginStoragePage } from '../../lti/v13/platform-storage-page.js'
import { createOidcStatesRepository } from '../../db/repositories/oidc-states-repository.js'
import { createDeploymentLookup } from './deployments.js'
import { createRegistrationLookup } from './registrations.js'
import { bindingSetCookie } from './binding-cookie.js'

export interface Lti13LoginDeps {
  knex: Knex
  stateKey: Uint8Array
  publicUrl: string
  stateTtlSeconds: number
  log: FastifyBaseLogger
  now?: () => number
}

export type Lti13LoginResponse =
  | { kind: 'redirect', location: string, setCookie: string }
  | { kind: 'html', html: string, setCookie: string }

/** Expired states are swept now and then, not on every login. */
const PURGE_EVERY = 1000

export function createLti13LoginService (deps: Lti13LoginDeps) {
  const now = deps.now ?? Date.now
  const states = createOidcStatesRepository(deps.knex, { now })
  const deployments = createDeploymentLookup(deps.knex)
  let loginsSincePurge = 0

  async function purgeNowAndThen (): Promise<void> {
    if (++loginsSincePurge < PURGE_EVERY) return
    loginsSincePurge = 0
    try {
      await states.purgeExpired(now())
    } catch (err) {
      deps.log.warn({ err }, 'oidc state purge failed')
    }
  }

  return {
    /** `params`: the login initiation, from the GET query or the form body. */
    async login (params: Record<string, unknown>): Promise<Lti13LoginResponse> {
      const result = await startOidcLogin(params, {
        findRegistrations: createRegistrationLookup(deps.knex).find,
        deployments,
        stateStore: states,
        stateKey: deps.stateKey,
        publicUrl: deps.publicUrl,
        now,
        stateTtlSeconds: deps.stateTtlSeconds
      })
      void purgeNowAndThen()
      const setCookie = bindingSetCookie(result.stateId, result.binding, deps.stateTtlSeconds)
      deps.log.info({ event: 'lti13_login', registrationId: result.registration.id, platformStorage: result.platformStorage !== undefined }, 'LTI 1.3 login')
      if (result.platformStorage === undefined) return { kind: 'redirect', location: result.redirectUrl, setCookie }
      return {
        kind: 'html',
        html: renderLoginStoragePage({ storage: result.platformStorage, stateId: result.stateId, binding: result.binding, redirectUrl: result.redirectUrl }),
        setCookie
      }
    }
  }
}

export type Lti13LoginService = ReturnType<typeof createLti13LoginService>
