import type { FastifyPluginAsync } from 'fastify'
import { page } from '../../views/html.js'

/**
 * GET {PUBLIC_URL}/lti/1.3/courses/{course_id}/{usage_id}: the target_link_uri that names content.
 * Platforms never open it directly (the id_token is posted to /lti/1.3/launch, which reads the
 * content from this URL inside the token); someone following the link gets a short explanation.
 * Nothing from the URL is echoed back.
 */
const target: FastifyPluginAsync = async (app) => {
  app.get('/lti/1.3/courses/:courseId/:usageId', async (_request, reply) => {
    return reply
      .type('text/html; charset=utf-8')
      .send(page('Open this content from your course', `<h1>Open this content from your course</h1>
<p>This address names course content for LTI 1.3. It works only when your learning platform (Canvas,
Moodle, Open edX…) launches it: go back to your course there and open the activity from it.</p>`))
  })
}

export default target
