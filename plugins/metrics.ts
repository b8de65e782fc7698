import fp from 'fastify-plugin'
import { Histogram, type Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance { metrics: Registry }
}

/**
 * The services' Prometheus registry, plus HTTP latency labelled by route pattern, never by raw URL
 * (course keys would explode cardinality).
 */
export default fp(async (app) => {
  const registry = app.services.metrics
  const httpDuration = new Histogram({
    name: 'lti_provider_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry]
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000)
  })
  app.decorate('metrics', registry)
}, { name: 'metrics', dependencies: ['services'] })
