import { errorCodes, type FastifyPluginAsync } from 'fastify'
import type { ParamInput } from '../../lti/v11/request-params.js'

/**
 * POST /lti_provider/courses/{course_id}/{usage_id}: the LTI 1.1 launch, on edx-platform's own
 * path so an existing link moves by changing only its host. The raw path (not the decoded params)
 * goes into the signature base string: a `+` in a course key must stay a `+`.
 */
const lti11Launch: FastifyPluginAsync = async (app) => {
  app.post<{ Params: { courseId: string, usageId: string } }>('/lti_provider/courses/:courseId/:usageId', {
    // Per-IP limit before the body is even read; the per-consumer budget is spent inside the launch,
    // only by verified, fresh launches (plugins/launch-limits.ts).
    onRequest: app.launchLimits.perIp,
    schema: {
      params: {
        type: 'object',
        required: ['courseId', 'usageId'],
        properties: { courseId: { type: 'string', maxLength: 255 }, usageId: { type: 'string', maxLength: 255 } }
      }
    }
  }, async (request, reply) => {
    // OAuth 1.0a signs form parameters only (RFC 5849 §3.4.1.3.1): a JSON body, or one without a
    // type, is not a launch even when its fields carry a valid signature.
    if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      throw new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE('a launch is an application/x-www-form-urlencoded form')
    }
    const result = await app.lti11Launch.launch({
      rawPath: request.url,
      courseId: request.params.courseId,
      usageId: request.params.usageId,
      body: (request.body ?? {}) as ParamInput,
      budget: app.launchLimits.lti11
    })
    // No caching anywhere: the page carries a one-time signed form.
    void reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
    if (result.response.kind === 'redirect') return reply.redirect(result.response.location, 302)
    return reply.type('text/html; charset=utf-8').send(result.response.html)
  })
}

export default lti11Launch
