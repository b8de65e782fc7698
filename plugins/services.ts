import fp from 'fastify-plugin'
import { buildServices, type Services } from '../src/compose/services.js'
import type { ServiceOverrides } from '../src/compose/overrides.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Every shared service of the process (src/compose/services.ts); the plugins below decorate from it. */
    services: Services
  }
}

export interface ServicesPluginOptions { overrides?: ServiceOverrides | undefined }

/**
 * The composition root as a plugin. Registered right after `db`: onClose runs LIFO, so the
 * services' close (HTTP clients last) runs after every later plugin stopped what it started, and
 * before the pool goes.
 */
export default fp<ServicesPluginOptions>(async (app, opts) => {
  const services = buildServices({ config: app.config, knex: app.knex, log: app.log, overrides: opts.overrides })
  app.decorate('services', services)
  app.addHook('onClose', async () => { await services.close() })
}, { name: 'services', dependencies: ['config', 'db'] })
