import type { FastifyPluginAsync } from 'fastify'

/** GET /lti/1.3/jwks: the tool's public keys (current, next, recently retired). */
const jwks: FastifyPluginAsync = async (app) => {
  app.get('/lti/1.3/jwks', async (_request, reply) => {
    const body = await app.toolKeys.jwks()
    return reply
      .header('cache-control', 'public, max-age=300')
      .type('application/jwk-set+json')
      .send(body)
  })
}

export default jwks
