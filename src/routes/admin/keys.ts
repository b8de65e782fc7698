import type { FastifyPluginAsync } from 'fastify'

const KeySchema = {
  type: 'object',
  properties: {
    kid: { type: 'string' },
    state: { type: 'string', enum: ['current', 'next', 'retired'] },
    alg: { type: 'string' },
    createdAt: { type: 'string' },
    activatedAt: { type: ['string', 'null'] },
    retiredAt: { type: ['string', 'null'] }
  }
} as const

/** GET /keys, POST /keys/rotate (prefix /admin/api/v1). Private keys never leave the database. */
const keys: FastifyPluginAsync = async (app) => {
  app.get('/keys', { schema: { response: { 200: { type: 'object', properties: { keys: { type: 'array', items: KeySchema } } } } } },
    async () => ({ keys: await app.toolKeys.list() }))

  app.post('/keys/rotate', {
    schema: {
      body: { anyOf: [{ type: 'null' }, { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean' } } }] },
      response: { 200: { type: 'object', properties: { keys: { type: 'array', items: KeySchema } } } }
    }
  }, async (request) => {
    const body = (request.body ?? {}) as { force?: boolean }
    const result = await app.toolKeys.rotate({ force: body.force === true })
    request.log.warn({ event: 'tool_key_rotated' }, 'tool signing key rotated')
    return { keys: result }
  })
}

export default keys
