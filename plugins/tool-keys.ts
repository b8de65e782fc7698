import fp from 'fastify-plugin'
import type { ToolKeys } from '../src/keys/tool-keys.js'

declare module 'fastify' {
  interface FastifyInstance { toolKeys: ToolKeys }
}

/** The tool's signing keys; the first boot creates the current and next keys. */
export default fp(async (app) => {
  const toolKeys = app.services.toolKeys
  await toolKeys.ensure()
  app.decorate('toolKeys', toolKeys)
}, { name: 'tool-keys', dependencies: ['services'] })
