import fp from 'fastify-plugin'
import type { Lti13Services } from '../src/compose/services.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** LTI 1.3 OIDC login and launch services (routes/lti13). */
    lti13: Lti13Services
  }
}

/** The LTI 1.3 launch services (one platform-JWKS cache for the process, see src/compose/services.ts). */
export default fp(async (app) => {
  app.decorate('lti13', app.services.lti13)
}, { name: 'lti13', dependencies: ['services', 'tool-keys'] })
