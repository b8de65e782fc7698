import fp from 'fastify-plugin'
import { LmsClient } from '../src/lms/lms-client.js'
import { createOutboundClient, type OutboundClient } from '../src/http/outbound-client.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The Open edX LMS REST client; undefined when LMS_URL is not configured. */
    lmsClient: LmsClient | undefined
    /** The one hardened client for every URL a platform or a launch gave us. */
    outbound: OutboundClient
  }
}

/** Owns the two HTTP clients: the trusted LMS one and the SSRF-guarded platform one. */
export default fp(async (app) => {
  const c = app.config
  const outbound = createOutboundClient({
    mode: 'platform',
    allowLoopbackHttp: c.OUTBOUND_ALLOW_LOOPBACK_HTTP,
    timeoutMs: c.OUTBOUND_TIMEOUT_MS,
    maxBytes: c.OUTBOUND_MAX_BYTES
  })
  const lmsClient = c.LMS_URL && c.LMS_CLIENT_ID && c.LMS_CLIENT_SECRET
    ? new LmsClient({ lmsUrl: c.LMS_URL, clientId: c.LMS_CLIENT_ID, clientSecret: c.LMS_CLIENT_SECRET, timeoutMs: c.LMS_TIMEOUT_MS })
    : undefined
  if (!lmsClient) app.log.warn('LMS_URL is not set: launches will answer LAUNCH_LMS_NOT_CONFIGURED')
  app.decorate('outbound', outbound)
  app.decorate('lmsClient', lmsClient)
  app.addHook('onClose', async () => {
    await lmsClient?.close()
    await outbound.close()
  })
}, { name: 'lms', dependencies: ['config'] })
