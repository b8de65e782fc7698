import fp from 'fastify-plugin'
import type { SecretBox } from '../src/crypto/secret-box.js'

declare module 'fastify' {
  interface FastifyInstance { secretBox: SecretBox }
}

export default fp(async (app) => {
  app.decorate('secretBox', app.services.secretBox)
}, { name: 'secret-box', dependencies: ['services'] })
