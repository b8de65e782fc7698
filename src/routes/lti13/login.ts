import type { FastifyPluginAsync } from 'fastify'
import { LAUNCH_RESPONSE_HEADERS } from '../../launch/lti13/response-headers.js'

/**
 * GET and POST /lti/1.3/login: LTI 1.3 third-party initiated login (wire-formats.md §5). Open edX
 * sends a GET redirect, other platforms a form POST. Parameters are read by the core, which refuses
 * missing, repeated or oversized ones with LTI13_LOGIN_* codes; a parameter sent both in the query
 * and in the body of a POST counts as repeated.
 */
const login: FastifyPluginAsync = async (app) => {
  // onSend: also on the refusal pages the root error handler sends for this route.
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.headers(LAUNCH_RESPONSE_HEADERS)
    return payload
  })
  app.route<{ Querystring: Record<string, unknown>, Body: Record<string, unknown> | undefined }>({
    method: ['GET', 'POST'],
    url: '/lti/1.3/login',
    // Per-IP only: a login is not authenticated (iss and client_id are public), so a per-registration
    // limit here would be spendable by anyone; the registration's budget is spent at the verified launch.
    onRequest: app.launchLimits.perIp,
    handler: async (request, reply) => {
      const params = request.method === 'POST' ? mergeParams(request.query, request.body) : request.query
      const result = await app.lti13.login.login(params)
      void reply.header('set-cookie', result.setCookie)
      if (result.kind === 'redirect') return reply.redirect(result.location, 302)
      return reply.type('text/html; charset=utf-8').send(result.html)
    }
  })
}

function mergeParams (query: Record<string, unknown>, body: unknown): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...query }
  if (typeof body !== 'object' || body === null) return merged
  for (const [name, value] of Object.entries(body)) {
    merged[name] = name in merged ? [merged[name], value] : value
  }
  return merged
}

export default login
