/**
 * Counts every launch answer once, by LTI version and result: 'ok', or the stable code the root
 * error handler answered with (so the counter and the learner's page always agree). The first
 * answer of a cookie-less LTI 1.3 launch (the page that reads platform storage) is a step, not a
 * result: the route marks it and the launch is counted when it comes back.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { LtiVersion, ServiceMetrics } from './service-metrics.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The code of the error answer, set by the root error handler's `send`. */
    answeredCode: string | undefined
    /** True when this answer is an intermediate step of a launch (not counted). */
    launchStep: boolean
  }
}

export function launchVersion (routeUrl: string | undefined): LtiVersion | undefined {
  if (routeUrl === undefined) return undefined
  if (routeUrl.startsWith('/lti_provider/courses/')) return '1.1'
  if (routeUrl === '/lti/1.3/launch') return '1.3'
  return undefined
}

export function registerLaunchCounting (app: FastifyInstance, metrics: ServiceMetrics): void {
  app.decorateRequest('answeredCode', undefined)
  app.decorateRequest('launchStep', false)
  app.addHook('onResponse', async (request: FastifyRequest, reply) => {
    const version = launchVersion(request.routeOptions.url)
    if (version === undefined || request.launchStep) return
    metrics.launch(version, reply.statusCode < 400 ? 'ok' : request.answeredCode ?? `HTTP_${reply.statusCode}`)
  })
}
