import type { FastifyPluginAsync } from 'fastify'

/** Liveness, readiness and Prometheus metrics: for load balancers, orchestrators and scrapers. */
const health: FastifyPluginAsync = async (app) => {
  app.get('/health', { logLevel: 'warn', schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }))

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const { ready, checks } = await app.readiness.run()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })

  // What launches, logins and the admin API need: the database. A broker outage stops grade
  // ingestion, not launches, so a load balancer should not take every instance out for it.
  app.get('/ready/http', { logLevel: 'warn' }, async (_request, reply) => {
    const { ready, checks } = await app.readiness.run(['database'])
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  })

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(app.metrics.contentType).send(await app.metrics.metrics())
  })
}

export default health
