import type { FastifyPluginAsync } from 'fastify'
import { isAppError } from '../../errors.js'
import { LAUNCH_RESPONSE_HEADERS } from '../../launch/lti13/response-headers.js'
import { createDynamicRegistration } from '../../onboarding/dynamic-registration.js'
import { ConfigPath } from '../../onboarding/tool-configuration.js'
import { registrationFailurePage, registrationSuccessPage } from '../../views/registration-page.js'

/**
 * GET /lti/1.3/register?invite=…&openid_configuration=…&registration_token=…: LTI Dynamic
 * Registration, opened by the platform in an iframe or a new tab. Every answer is a page for the
 * platform admin: success (closing itself) or the code, a reference, and "nothing was stored".
 * Same headers as the launch pages: the URL carries our invite and the platform's token, so no
 * caching and no Referer.
 */
const register: FastifyPluginAsync = async (app) => {
  const c = app.config
  const registration = createDynamicRegistration({
    knex: app.knex,
    outbound: app.outbound,
    tool: { publicUrl: c.PUBLIC_URL, title: c.LTI_TOOL_TITLE, description: c.LTI_TOOL_DESCRIPTION },
    allowLoopbackHttp: c.OUTBOUND_ALLOW_LOOPBACK_HTTP,
    timeoutMs: c.OUTBOUND_TIMEOUT_MS
  })
  app.get<{ Querystring: Record<string, unknown> }>(ConfigPath.register, { onRequest: app.launchLimits.perIp }, async (request, reply) => {
    void reply.headers(LAUNCH_RESPONSE_HEADERS).type('text/html; charset=utf-8')
    try {
      const outcome = await registration.register(request.query)
      request.log.info({
        event: 'dr_registration_created', registrationId: outcome.registrationId, inviteId: outcome.inviteId, issuer: outcome.issuer,
        deployment: outcome.deploymentId !== null, active: outcome.active, warnings: outcome.warnings
      }, 'LTI 1.3 platform registered itself through an invite')
      return reply.send(registrationSuccessPage(outcome))
    } catch (err) {
      if (!isAppError(err)) throw err
      request.log[err.status >= 500 ? 'error' : 'warn']({ code: err.code, status: err.status, details: err.details }, `dynamic registration refused: ${err.message}`)
      const reason = typeof err.details?.platformReason === 'string' ? ` The platform said: ${err.details.platformReason}` : ''
      return reply.code(err.status).send(registrationFailurePage(err.status, err.code, err.message + reason, String(request.id)))
    }
  })
}

export default register
