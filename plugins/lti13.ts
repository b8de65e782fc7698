import fp from 'fastify-plugin'
import { createJwksCache } from '../src/lti/v13/jwks-cache.js'
import { deriveStateKey } from '../src/lti/v13/state-token.js'
import { createJwksFetcher } from '../src/launch/lti13/jwks-fetch.js'
import { createLti13LaunchService, type Lti13LaunchService } from '../src/launch/lti13/launch.js'
import { createLti13LoginService, type Lti13LoginService } from '../src/launch/lti13/login.js'
import { createLti11Migration } from '../src/launch/lti13/migration.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** LTI 1.3 OIDC login and launch services (routes/lti13). */
    lti13: { login: Lti13LoginService, launch: Lti13LaunchService }
  }
}

/**
 * The LTI 1.3 launch services: one platform-JWKS cache for the process (fetched through the
 * hardened `outbound` client), the state key derived from SECRET_KEY, and the same LMS account
 * resolver and session handoff as the LTI 1.1 launch.
 */
export default fp(async (app) => {
  const c = app.config
  const stateKey = deriveStateKey(c.secretKey)
  const fetcher = createJwksFetcher(app.outbound, { timeoutMs: c.OUTBOUND_TIMEOUT_MS })
  const jwks = createJwksCache({ fetchJwks: fetcher.fetchJwks })
  const platform = app.lmsClient
  const accounts = app.launchAccounts
  const handoff = app.launchHandoff
  app.decorate('lti13', {
    login: createLti13LoginService({
      knex: app.knex,
      stateKey,
      publicUrl: c.PUBLIC_URL,
      stateTtlSeconds: c.LTI13_STATE_TTL,
      log: app.log
    }),
    launch: createLti13LaunchService({
      knex: app.knex,
      stateKey,
      publicUrl: c.PUBLIC_URL,
      jwks,
      onRegistrationLoaded: fetcher.learn,
      migration: createLti11Migration({ knex: app.knex, secretBox: app.secretBox }),
      allowLoopbackHttp: c.OUTBOUND_ALLOW_LOOPBACK_HTTP,
      accounts,
      handoff,
      lmsUrl: platform?.lmsUrl,
      log: app.log,
      onNewLearner: id => { for (const fn of app.launchEvents.onNewLearner) fn(id) }
    })
  })
}, { name: 'lti13', dependencies: ['config', 'db', 'secret-box', 'tool-keys', 'lms', 'launch'] })
