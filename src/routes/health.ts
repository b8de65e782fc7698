import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'

/** Liveness, readiness and Prometheus metrics: for load balancers, orchestrators and scrapers. */
const health: FastifyPluginAsync = async (app) => {
  app.get('/health', { logLevel: 'warn', schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } } },
    async () => ({ status: 'ok' }))

  /** 200 when every named check (all, without `only`) passes; 503 with the failing checks otherwise. */
  const answerReadiness = (only?: readonly string[]) => async (_request: FastifyRequest, reply: FastifyReply) => {
    const { ready, checks } = await app.readiness.run(only)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks })
  }
  app.get('/ready', { logLevel: 'warn' }, answerReadiness())
  // What launches, logins and the admin API need: the database. A broker outage stops grade
  // ingestion, not launches, so a load balancer should not take every instance out for it.
  app.get('/ready/http', { logLevel: 'warn' }, answerReadiness(['database']))

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type(app.metrics.contentType).send(await app.metrics.metrics())
  })
}

export default health
