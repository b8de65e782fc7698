import fp from 'fastify-plugin'
import { createToolKeys, type ToolKeys } from '../src/keys/tool-keys.js'

declare module 'fastify' {
  interface FastifyInstance { toolKeys: ToolKeys }
}

/** The tool's signing keys; the first boot creates the current and next keys. */
export default fp(async (app) => {
  const toolKeys = createToolKeys({ knex: app.knex, secretBox: app.secretBox, graceSeconds: app.config.KEY_ROTATION_GRACE_SECONDS })
  await toolKeys.ensure()
  app.decorate('toolKeys', toolKeys)
}, { name: 'tool-keys', dependencies: ['db', 'secret-box'] })
