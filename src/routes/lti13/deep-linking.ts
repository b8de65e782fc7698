import type { FastifyPluginAsync } from 'fastify'
import { LAUNCH_RESPONSE_HEADERS } from '../../launch/lti13/response-headers.js'
import { PICKER_PATHS, type PickerPage } from '../../launch/lti13/deep-linking/picker.js'
import { ToolPath } from '../../lti/v13/tool-urls.js'
import { page } from '../../views/html.js'

type Form = Record<string, unknown>

/**
 * The Deep Linking picker's form posts under /lti/1.3/deep-linking/ (the first page is the answer
 * to the launch itself). Each carries the signed selection token in the `selection` field, never
 * in the URL; the service re-checks everything. Pages are never cached, send no Referer and carry
 * their own strict CSP; refusals are the root handler's short pages with a code.
 */
const deepLinking: FastifyPluginAsync = async (app) => {
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.headers(LAUNCH_RESPONSE_HEADERS)
    return payload
  })
  const picker = () => {
    const service = app.lti13.deepLinking
    if (service === undefined) throw new Error('deep linking routes registered without the picker service')
    return service
  }
  const html = (reply: import('fastify').FastifyReply, result: PickerPage) =>
    reply.header('content-security-policy', result.csp).type('text/html; charset=utf-8').send(result.html)
  const body = (request: { body: unknown }): Form => (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Form
  const limits = { onRequest: app.launchLimits.perIp }

  app.post(PICKER_PATHS.courses, limits, async (request, reply) => html(reply, await picker().courses(body(request).selection)))
  app.post(PICKER_PATHS.outline, limits, async (request, reply) => {
    const form = body(request)
    return html(reply, await picker().outline(form.selection, form.course, form.q))
  })
  app.post(PICKER_PATHS.submit, limits, async (request, reply) => {
    const form = body(request)
    return html(reply, await picker().submit(form.selection, form.course, form.usage))
  })
  app.post(PICKER_PATHS.cancel, limits, async (request, reply) => html(reply, await picker().cancel(body(request).selection)))

  // The content selection target_link_uri: platforms never open it directly (the id_token goes to
  // /lti/1.3/launch); someone following the link gets a short explanation.
  app.get(ToolPath.deepLinking, async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').send(page('Select content from your course', `<h1>Select content from your course</h1>
<p>This address is where learning platforms (Canvas, Moodle, Open edX…) start choosing Open edX content
for a course. Use the platform's "Select content" or "External tool" button instead of opening it here.</p>`))
  })
}

export default deepLinking
