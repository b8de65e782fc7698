import fp from 'fastify-plugin'
import { Histogram, type Registry } from 'prom-client'
import type { ServiceMetrics } from '../src/metrics/service-metrics.js'
import { registerLaunchCounting } from '../src/metrics/launch-counting.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
    /** Launch, LMS and build metrics (src/metrics/service-metrics.ts). */
    serviceMetrics: ServiceMetrics
  }
}

/**
 * The services' Prometheus registry, plus HTTP latency labelled by route pattern, never by raw URL
 * (course keys would explode cardinality). Node's default process metrics keep their stock names
 * (no prefix, src/compose/services.ts), so stock Node.js dashboards work.
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
  registerLaunchCounting(app, app.services.serviceMetrics)
  app.decorate('serviceMetrics', app.services.serviceMetrics)
}, { name: 'metrics', dependencies: ['services'] })
