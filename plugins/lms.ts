import fp from 'fastify-plugin'
import type { LmsClient } from '../src/lms/lms-client.js'
import type { OutboundClient } from '../src/http/outbound-client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Open edX LMS REST client; undefined when LMS_URL is not configured. */
    lmsClient: LmsClient | undefined
    /** The one hardened client for every URL a platform or a launch gave us. */
    outbound: OutboundClient
  }
}

/** The two HTTP clients of the services (closed by them): the trusted LMS one and the SSRF-guarded platform one. */
export default fp(async (app) => {
  const lmsClient = app.services.lmsClient
  if (!lmsClient) app.log.warn('LMS_URL is not set: launches will answer LAUNCH_LMS_NOT_CONFIGURED')
  app.decorate('outbound', app.services.outbound)
  app.decorate('lmsClient', lmsClient)
}, { name: 'lms', dependencies: ['services'] })
