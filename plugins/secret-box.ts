import fp from 'fastify-plugin'
import { createSecretBox, type SecretBox } from '../src/crypto/secret-box.js'

declare module 'fastify' {
  interface FastifyInstance { secretBox: SecretBox }
}

export default fp(async (app) => {
  app.decorate('secretBox', createSecretBox(app.config.secretKey))
}, { name: 'secret-box', dependencies: ['config'] })
