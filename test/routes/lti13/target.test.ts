import t from 'tap'
import { buildTestApp } from '../../helpers/build-app.js'

t.test('GET on the target_link_uri: a short page saying to launch from the course', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: 'https://tool.example.org' })
  const res = await app.inject({ method: 'GET', url: '/lti/1.3/courses/course-v1:OpenedX+DemoX+Demo_Course/block-v1:OpenedX+DemoX+Demo_Course+type@problem+block@p1' })
  t.equal(res.statusCode, 200)
  t.match(String(res.headers['content-type']), /text\/html/)
  t.match(res.body, /launches it/)
  t.match(res.body, /go back to your course/)

  const hostile = await app.inject({ method: 'GET', url: '/lti/1.3/courses/%3Cscript%3Ealert(1)%3C%2Fscript%3E/x' })
  t.equal(hostile.statusCode, 200)
  t.notMatch(hostile.body, /<script>|alert\(1\)/, 'nothing from the URL is echoed')

  const post = await app.inject({ method: 'POST', url: '/lti/1.3/courses/a/b', payload: 'id_token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(post.statusCode, 404, 'launches go to /lti/1.3/launch, not here')
})
