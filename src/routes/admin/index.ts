import type { FastifyPluginAsync } from 'fastify'
import { createAdminServices } from '../../admin/admin-services.js'
import { createAdminAuth } from './auth.js'
import keys from './keys.js'
import consumers from './consumers.js'
import registrations from './registrations.js'
import passbacks from './passbacks.js'

/**
 * /admin/api/v1: registered only when ADMIN_TOKEN is set. Every route below shares the bearer check
 * (an encapsulated onRequest hook), so a new admin route cannot forget it. The services are the
 * same ones the CLI drives (src/admin).
 */
const admin: FastifyPluginAsync<{ token: string }> = async (app, opts) => {
  app.addHook('onRequest', createAdminAuth(opts.token))
  const services = createAdminServices({ knex: app.knex, secretBox: app.secretBox, config: app.config })
  await app.register(keys)
  await app.register(consumers, { services })
  await app.register(registrations, { services })
  await app.register(passbacks, { services })
}

export default admin
