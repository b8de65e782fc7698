/**
 * The application as a Fastify plugin: the database, the composition root (src/compose) and the
 * plugins that decorate from it and run the lifecycles, in dependency order (onClose runs LIFO, so
 * the database registered first is closed last), then the routes. `features` switches the worker,
 * the consumer and the admin API, so tests and rigs never re-list plugins.
 */
import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import type { FastifyPluginAsync } from 'fastify'
import type { Knex } from 'knex'
import type { Config } from './config.js'
import { resolveFeatures, type AppFeatures } from './compose/features.js'
import type { ServiceOverrides } from './compose/overrides.js'
import configPlugin from '../plugins/config.js'
import dbPlugin from '../plugins/db.js'
import servicesPlugin from '../plugins/services.js'
import secretBoxPlugin from '../plugins/secret-box.js'
import toolKeysPlugin from '../plugins/tool-keys.js'
import readinessPlugin from '../plugins/readiness.js'
import metricsPlugin from '../plugins/metrics.js'
import lmsPlugin from '../plugins/lms.js'
import launchPlugin from '../plugins/launch.js'
import lti13Plugin from '../plugins/lti13.js'
import passbackWorkerPlugin from '../plugins/passback-worker.js'
import eventConsumerPlugin from '../plugins/event-consumer.js'
import launchLimitsPlugin from '../plugins/launch-limits.js'
import { registerErrorHandlers } from './routes/error-handler.js'
import { registerPageHeaders } from './routes/page-headers.js'
import health from './routes/health.js'
import jwks from './routes/lti13/jwks.js'
import lti11Launch from './routes/lti11/launch.js'
import lti13Login from './routes/lti13/login.js'
import lti13Launch from './routes/lti13/launch.js'
import lti13Target from './routes/lti13/target.js'
import lti13Config from './routes/lti13/config.js'
import lti13Register from './routes/lti13/register.js'
import lti11Config from './routes/lti11/config.js'
import lti13DeepLinking from './routes/lti13/deep-linking.js'
import admin from './routes/admin/index.js'

export interface AppOptions {
  config: Config
  /** Tests pass their own knex (one per test file, already migrated). */
  knex?: Knex
  /** Migrate the pool the app opens itself; default DATABASE_MIGRATE_ON_START (a given `knex` is never migrated). */
  migrate?: boolean
  features?: AppFeatures
  /** What tests replace in the services (src/compose/overrides.ts). */
  overrides?: ServiceOverrides
}

const app: FastifyPluginAsync<AppOptions> = async (fastify, opts) => {
  const features = resolveFeatures(opts.config, opts.features)
  await fastify.register(configPlugin, { config: opts.config })
  await fastify.register(dbPlugin, opts.knex ? { knex: opts.knex, migrate: false } : { migrate: opts.migrate })
  await fastify.register(servicesPlugin, { overrides: opts.overrides })
  await fastify.register(secretBoxPlugin)
  await fastify.register(metricsPlugin)
  await fastify.register(readinessPlugin)
  await fastify.register(toolKeysPlugin)
  await fastify.register(lmsPlugin)
  await fastify.register(launchPlugin)
  await fastify.register(lti13Plugin)
  // Worker before consumer: onClose is LIFO, so the consumer stops first, then the worker, then the pool.
  await fastify.register(passbackWorkerPlugin, { start: features.worker })
  await fastify.register(eventConsumerPlugin, { start: features.consumer })
  // Form bodies are parsed by @fastify/formbody (qs-free, duplicates kept as arrays).
  await fastify.register(formbody, { bodyLimit: opts.config.REQUEST_BODY_LIMIT })
  // Per-IP and per-consumer limits the launch and login routes use (RATE_LIMIT_*).
  await fastify.register(launchLimitsPlugin)

  registerErrorHandlers(fastify)
  registerPageHeaders(fastify, {
    selfOrigin: new URL(opts.config.PUBLIC_URL).origin,
    redirectOrigins: opts.config.LMS_URL ? [new URL(opts.config.LMS_URL).origin] : []
  })

  await fastify.register(health)
  await fastify.register(jwks)
  await fastify.register(lti11Launch)
  await fastify.register(lti13Login)
  await fastify.register(lti13Launch)
  await fastify.register(lti13Target)
  await fastify.register(lti13Config)
  await fastify.register(lti13Register)
  await fastify.register(lti11Config)
  await fastify.register(lti13DeepLinking)
  if (features.admin) {
    await fastify.register(admin, { prefix: '/admin/api/v1', token: opts.config.ADMIN_TOKEN!, services: fastify.services.admin })
  } else if (!opts.config.ADMIN_TOKEN) {
    fastify.log.info('ADMIN_TOKEN is not set: the admin API is off')
  }
}

export default fp(app, { name: 'lti-provider-app' })
