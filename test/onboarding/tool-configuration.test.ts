/**
 * The published configuration documents (issue 15 §1): answered without an admin token and without
 * any registration, derived from PUBLIC_URL (a trailing slash tolerated), nothing secret in them, and
 * no deep-linking message or URL advertised while content selection does not exist.
 */
import t from 'tap'
import { buildTestApp } from '../helpers/build-app.js'

const PUBLIC_URL = 'https://lti.example.edu/'
const SECRET_KEY = 'tool-config-test-secret-key-0123456789abcdef'

t.test('GET /lti/1.3/config: the tool URLs, scopes and names in one JSON document', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL, SECRET_KEY, LTI_TOOL_TITLE: 'Example Open edX' })
  const res = await app.inject({ url: '/lti/1.3/config' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /application\/json/)
  t.match(res.headers['cache-control'], /public/)
  t.same(res.json(), {
    title: 'Example Open edX',
    description: 'Open edX course content, with grades sent back to this platform.',
    domain: 'lti.example.edu',
    loginUrl: 'https://lti.example.edu/lti/1.3/login',
    redirectUris: ['https://lti.example.edu/lti/1.3/launch'],
    jwksUrl: 'https://lti.example.edu/lti/1.3/jwks',
    targetLinkUriTemplate: 'https://lti.example.edu/lti/1.3/courses/{course_id}/{usage_id}',
    genericTargetLinkUri: 'https://lti.example.edu/lti/1.3/launch',
    deepLinkingUrl: 'https://lti.example.edu/lti/1.3/deep-linking/launch',
    deepLinking: 'Content selection (LTI Deep Linking 2.0): instructors pick Open edX content from the platform; the LtiDeepLinkingRequest targets deepLinkingUrl through the same login and redirect URIs.',
    messages: ['LtiResourceLinkRequest', 'LtiDeepLinkingRequest'],
    scopes: [
      'https://purl.imsglobal.org/spec/lti-ags/scope/score',
      'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem',
      'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly'
    ],
    canvasConfigurationUrl: 'https://lti.example.edu/lti/1.3/config/canvas.json',
    lti11ConfigurationUrl: 'https://lti.example.edu/lti/1.1/config.xml',
    dynamicRegistration: 'An Open edX administrator creates a one-time invite (lti-provider registrations invite); its URL, https://lti.example.edu/lti/1.3/register?invite=…, goes into the platform\'s "register by URL" field.'
  })
  t.notMatch(res.body, /tool-config-test-secret|test-admin-token/, 'nothing secret')
})

t.test('GET /lti/1.3/config/canvas.json: a Canvas developer-key configuration', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: 'http://localhost:3000', SECRET_KEY })
  const res = await app.inject({ url: '/lti/1.3/config/canvas.json' })
  t.equal(res.statusCode, 200)
  const key = res.json()
  t.match(key, {
    title: 'Open edX',
    oidc_initiation_url: 'http://localhost:3000/lti/1.3/login',
    target_link_uri: 'http://localhost:3000/lti/1.3/launch',
    public_jwk_url: 'http://localhost:3000/lti/1.3/jwks',
    scopes: ['https://purl.imsglobal.org/spec/lti-ags/scope/score', 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem', 'https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly']
  })
  t.equal(typeof key.description, 'string')
  const [ext] = key.extensions
  t.match(ext, { platform: 'canvas.instructure.com', domain: 'localhost:3000', privacy_level: 'anonymous' })
  t.same(ext.settings.placements.map((p: { placement: string }) => p.placement), ['link_selection', 'assignment_selection', 'editor_button'])
  t.ok(ext.settings.placements.every((p: { message_type: string, target_link_uri: string }) =>
    p.message_type === 'LtiDeepLinkingRequest' && p.target_link_uri === 'http://localhost:3000/lti/1.3/deep-linking/launch'), 'selection placements open the content picker')
})

t.test('GET /lti/1.1/config.xml: a basic LTI link with the launch URL pattern explained', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL, SECRET_KEY, LTI_TOOL_TITLE: 'Courses <&> more' })
  const res = await app.inject({ url: '/lti/1.1/config.xml' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /application\/xml/)
  const xml = res.body
  t.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<cartridge_basiclti_link xmlns="http:\/\/www.imsglobal.org\/xsd\/imslticc_v1p0"/)
  t.match(xml, '<blti:title>Courses &lt;&amp;&gt; more</blti:title>', 'text is escaped')
  t.match(xml, '<blti:launch_url>https://lti.example.edu/lti_provider/courses/{course_id}/{usage_id}</blti:launch_url>')
  t.match(xml, /Launch URL pattern: .*\n.*replace \{course_id\} with the course key/)
  t.match(xml, '<lticm:property name="domain">lti.example.edu</lticm:property>')
  t.match(xml, /<blti:extensions platform="canvas.instructure.com">/)
  t.notMatch(xml, /tool-config-test-secret/)
  // Every element opened is closed (no XML parser in the dependencies: a tag balance check).
  const stack: string[] = []
  for (const m of xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(/<(\/?)([A-Za-z_:][\w:.-]*)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue
    if (m[1] === '/') t.equal(stack.pop(), m[2], `</${m[2]}> closes its element`)
    else stack.push(m[2] as string)
  }
  t.same(stack, [], 'balanced')
})

t.test('the documents need no admin token even when the admin API is off', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL, SECRET_KEY, ADMIN_TOKEN: '' })
  for (const url of ['/lti/1.3/config', '/lti/1.3/config/canvas.json', '/lti/1.1/config.xml']) {
    t.equal((await app.inject({ url })).statusCode, 200, url)
  }
})
