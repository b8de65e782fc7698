import type { FastifyPluginAsync } from 'fastify'
import { createAdminAuth } from './auth.js'
import keys from './keys.js'

/**
 * /admin/api/v1: registered only when ADMIN_TOKEN is set. Every route below shares the bearer check
 * (an encapsulated onRequest hook), so a new admin route cannot forget it.
 */
const admin: FastifyPluginAsync<{ token: string }> = async (app, opts) => {
  app.addHook('onRequest', createAdminAuth(opts.token))
  await app.register(keys)
}

export default admin
