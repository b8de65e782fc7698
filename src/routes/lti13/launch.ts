import type { FastifyPluginAsync } from 'fastify'
import { STORAGE_BINDING_FIELD } from '../../lti/v13/platform-storage-page.js'
import { LAUNCH_RESPONSE_HEADERS } from '../../launch/lti13/response-headers.js'

/**
 * POST /lti/1.3/launch: the registered redirect_uri, where the platform form-posts `id_token` and
 * `state`. The browser binding comes from our cookie, or from platform storage (the first answer is
 * then a page that reads it and posts here again with `lti_storage_binding`). Every refusal is an
 * AppError the root handler turns into a short page with its code.
 */
const launch: FastifyPluginAsync = async (app) => {
  // onSend: also on the refusal pages the root error handler sends for this route.
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.headers(LAUNCH_RESPONSE_HEADERS)
    return payload
  })
  // Per-IP limit before the body is read; the registration's budget is spent inside the launch, only
  // once the id_token is verified (plugins/launch-limits.ts).
  app.post<{ Body: Record<string, unknown> | undefined }>('/lti/1.3/launch', { onRequest: app.launchLimits.perIp }, async (request, reply) => {
    const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>
    const outcome = await app.lti13.launch.launch({
      idToken: body.id_token,
      state: body.state,
      cookieHeader: request.headers.cookie,
      storageBinding: body[STORAGE_BINDING_FIELD],
      budget: app.launchLimits.lti13
    })
    if (outcome.kind === 'storage-page') {
      request.launchStep = true // counted when the page posts back (src/metrics/launch-counting.ts)
      return reply.type('text/html; charset=utf-8').send(outcome.html)
    }
    void reply.header('set-cookie', outcome.clearCookie)
    if (outcome.kind === 'picker') return reply.header('content-security-policy', outcome.page.csp).type('text/html; charset=utf-8').send(outcome.page.html)
    if (outcome.response.kind === 'redirect') return reply.redirect(outcome.response.location, 302)
    return reply.type('text/html; charset=utf-8').send(outcome.response.html)
  })
}

export default launch
