import t from 'tap'
import { contentTargetLinkUri, parseTargetLinkUri, sameUrl, toolUrls } from '../../../src/lti/v13/tool-urls.js'

t.test('tool URLs come from PUBLIC_URL, with or without a path prefix', async t => {
  t.same(toolUrls('https://tool.example.test'), {
    loginUrl: 'https://tool.example.test/lti/1.3/login',
    redirectUri: 'https://tool.example.test/lti/1.3/launch',
    jwksUrl: 'https://tool.example.test/lti/1.3/jwks',
    targetLinkUriTemplate: 'https://tool.example.test/lti/1.3/courses/{course_id}/{usage_id}',
    deepLinkingUrl: 'https://tool.example.test/lti/1.3/deep-linking/launch'
  })
  t.same(parseTargetLinkUri('https://tool.example.test/lti/1.3/deep-linking/launch', 'https://tool.example.test'), { kind: 'deep-linking' })
  t.equal(toolUrls('https://edx.example.test/tool/').redirectUri, 'https://edx.example.test/tool/lti/1.3/launch')
  t.equal(toolUrls('http://localhost:3000').loginUrl, 'http://localhost:3000/lti/1.3/login')
})

t.test('content target_link_uri round trip', async t => {
  const course = 'course-v1:Org+C1+R1'
  const usage = 'block-v1:Org+C1+R1+type@html+block@a b~c'
  const uri = contentTargetLinkUri('https://tool.example.test', course, usage)
  t.equal(uri, 'https://tool.example.test/lti/1.3/courses/course-v1:Org+C1+R1/block-v1:Org+C1+R1+type@html+block@a%20b~c')
  t.same(parseTargetLinkUri(uri, 'https://tool.example.test'), { kind: 'content', courseKey: course, usageKey: usage })
  t.same(parseTargetLinkUri(`${uri}?from=platform#x`, 'https://tool.example.test/'), { kind: 'content', courseKey: course, usageKey: usage }, 'query and fragment ignored')
  t.same(parseTargetLinkUri('https://TOOL.example.test:443/lti/1.3/launch', 'https://tool.example.test'), { kind: 'generic' }, 'host case and default port')
})

t.test('anything else is not ours', async t => {
  const pub = 'https://edx.example.test/tool'
  for (const uri of [
    'https://edx.example.test/lti/1.3/courses/a/b', // outside the prefix
    'https://edx.example.test/toolbox/lti/1.3/courses/a/b', // prefix must end at a segment
    'https://edx.example.test/tool/lti/1.3/courses/%E0%A4%A/b', // bad percent-encoding
    'https://edx.example.test/tool/lti/1.3/courses/a/%00', // control character
    'https://edx.example.test/tool/lti/1.3/courses//b',
    'https://edx.example.test/tool/lti/1.3/courses/a/b%2Fc', // an encoded slash would smuggle a path
    'https://edx.example.test/tool/lti/1.3/courses/a/..%5Cb',
    'https://edx.example.test/tool/lti/1.3/launch/extra',
    'https://edx.example.test/tool/lti/1.3/courses/a/' + 'x'.repeat(513),
    'not a url'
  ]) t.equal(parseTargetLinkUri(uri, pub), null, uri)
})

t.test('sameUrl', async t => {
  t.ok(sameUrl('https://A.example.test:443/x', 'https://a.example.test/x'))
  t.notOk(sameUrl('https://a.example.test/x', 'https://a.example.test/y'))
  t.notOk(sameUrl('nope', 'nope'))
})
