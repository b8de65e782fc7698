/**
 * LTI Deep Linking 2.0 through the real app: the fake Open edX-shaped platform sends an
 * `LtiDeepLinkingRequest` through the same OIDC login and launch, the picker lists the courses in
 * the registration's scope from the (fake) LMS course list, shows an outline from the Blocks API,
 * and the answer is verified against our JWKS exactly as a platform does. Refusals: every bad
 * setting, a learner, a return URL on a foreign host, forged or replayed selections.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../../support/fake-lms.js'
import { startFakeLti13Platform, type FakeDeepLinkingSettings, type FakeLti13Platform } from '../../support/fake-lti13-platform.js'
import { answerOf, deepLinkingLaunch, pickerPost, selectionTokenOf, toolJwks } from '../../support/deep-linking-flow.js'
import { buildTestApp } from '../../helpers/build-app.js'
import { DeepLinkingClaim, LtiClaim, Role } from '../../../src/lti/claims.js'
import { contentTargetLinkUri, toolUrls } from '../../../src/lti/v13/tool-urls.js'
import { createLti13RegistrationsRepository, type NewLti13Registration } from '../../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../../src/db/repositories/lti13-deployments-repository.js'

const PUBLIC_URL = 'https://tool.example.org'
const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`
const DL_URL = toolUrls(PUBLIC_URL).deepLinkingUrl
const COURSE = DEMO_COURSE_ID
const OTHER_COURSE = 'course-v1:Other+X+2024'
const UNIT1 = usageKey(COURSE, 'vertical', 'unit1')
const P2 = usageKey(COURSE, 'problem', 'p2')
const INTRO = usageKey(COURSE, 'html', 'intro')
const WEEK1 = usageKey(COURSE, 'chapter', 'week1')
const INSTRUCTOR = [Role.membershipInstructor, Role.institutionInstructor]

interface Ctx { app: FastifyInstance, lms: FakeLms, platform: FakeLti13Platform, registrationId: number }

async function setup (t: Test, over: Partial<NewLti13Registration> = {}): Promise<Ctx> {
  const lms = await startFakeLms({ courses: [{ id: COURSE }, { id: OTHER_COURSE, displayName: 'Out of scope' }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti13Platform({ redirectUris: [LAUNCH_URL] })
  t.teardown(() => platform.close())
  const { app } = await buildTestApp(t, { PUBLIC_URL, LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret', LMS_TIMEOUT_MS: '1500', LMS_SESSION_HANDOFF: 'redirect' })
  const now = Date.now()
  const registrationId = await createLti13RegistrationsRepository(app.knex).insert({
    name: 'Fake Open edX', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now, ...over
  })
  await createLti13DeploymentsRepository(app.knex).insert({ registrationId, deploymentId: platform.deploymentId, source: 'admin', createdAt: now })
  return { app, lms, platform, registrationId }
}

async function open (ctx: Ctx, settings: FakeDeepLinkingSettings = {}, extra: { roles?: string[], claims?: Record<string, unknown> } = {}) {
  return await deepLinkingLaunch(ctx.app, ctx.platform, {
    userId: 'teacher-1',
    targetLinkUri: DL_URL,
    roles: extra.roles ?? INSTRUCTOR,
    claims: { ...ctx.platform.deepLinkingClaims(settings), ...extra.claims }
  })
}

t.test('an instructor picks a unit and a problem; the platform verifies the signed answer', async t => {
  const ctx = await setup(t)
  const first = await open(ctx)
  t.equal(first.status, 200, first.body.slice(0, 400))
  const csp = String(first.headers['content-security-policy'])
  t.match(csp, /default-src 'none'; script-src 'nonce-[^']+'; style-src 'nonce-[^']+'/)
  t.match(csp, `frame-ancestors 'self' ${ctx.platform.issuer}`, 'framable by the platform only')
  t.match(csp, `form-action 'self' ${ctx.platform.issuer}`)
  t.equal(first.headers['x-frame-options'], undefined)
  t.equal(first.headers['cache-control'], 'no-store')
  t.match(first.body, 'Demonstration Course')
  t.notMatch(first.body, OTHER_COURSE, 'courses outside the scope are not listed')
  const token = selectionTokenOf(first.body)

  const outline = await pickerPost(ctx.app, 'outline', [['selection', token], ['course', COURSE]])
  t.equal(outline.status, 200)
  for (const title of ['Week 1', 'Homework 1', 'Unit 1', 'Problem 2', 'Introduction']) t.match(outline.body, title)
  t.match(outline.body, /<input type="checkbox" name="usage" value="[^"]*unit1"/, 'multi-select: checkboxes')
  t.notMatch(outline.body, /name="usage" value="[^"]*week1"/, 'chapters are not selectable by default')
  t.match(outline.body, /graded<\/span>, weight 5/, 'graded flag and weight shown')

  const search = await pickerPost(ctx.app, 'outline', [['selection', token], ['course', COURSE], ['q', 'problem 2']])
  t.match(search.body, 'Problem 2')
  t.notMatch(search.body, 'Introduction', 'search keeps matches and their ancestors only')
  t.match(search.body, 'Homework 1')

  const sent = await pickerPost(ctx.app, 'submit', [['selection', token], ['course', COURSE], ['usage', UNIT1], ['usage', P2], ['usage', INTRO]])
  t.equal(sent.status, 200, sent.body.slice(0, 400))
  const { action, jwt } = answerOf(sent.body)
  t.equal(action, ctx.platform.deepLinkReturnUrl, 'posted to deep_link_return_url')
  t.match(sent.body, /<script nonce="[^"]+">document.getElementById\("answer"\).submit\(\)<\/script>/, 'auto-submitted under the CSP nonce')
  const received = await ctx.platform.verifyDeepLinkingResponse(jwt, await toolJwks(ctx.app))
  t.equal(received.header.kid, (await ctx.app.toolKeys.signingKey()).kid, 'signed with the current key, kid in the header')
  t.equal(received.claims[DeepLinkingClaim.data], 'opaque-platform-data+/=&"<x>', 'data echoed exactly')
  t.equal((received.claims.exp as number) - (received.claims.iat as number), 300)
  t.equal(received.claims[LtiClaim.deploymentId], ctx.platform.deploymentId)
  t.same(received.items.map(i => i.url), [UNIT1, P2, INTRO].map(k => contentTargetLinkUri(PUBLIC_URL, COURSE, k)))
  t.same(received.items[0], {
    type: 'ltiResourceLink', title: 'Unit 1', text: 'Demonstration Course (Open edX)', url: contentTargetLinkUri(PUBLIC_URL, COURSE, UNIT1),
    lineItem: { scoreMaximum: 6, label: 'Unit 1', resourceId: UNIT1, tag: 'openedx:vertical' }
  })
  t.same(received.items[1]?.lineItem, { scoreMaximum: 5, label: 'Problem 2', resourceId: P2, tag: 'openedx:problem' })
  t.equal(received.items[2]?.lineItem, undefined, 'ungraded text gets no line item')

  const again = await pickerPost(ctx.app, 'submit', [['selection', token], ['course', COURSE], ['usage', UNIT1]])
  t.equal(again.status, 400)
  t.match(again.body, 'DEEP_LINKING_SELECTION_EXPIRED', 'a selection answers once')
  t.equal(ctx.lms.state.callCount('blocks'), 1, 'outline fetched once, then cached')
  t.equal(ctx.lms.state.callCount('courses'), 1, 'course list fetched once, then cached')
})

t.test('cancel answers an empty content_items with a msg; single select refuses two items', async t => {
  const ctx = await setup(t)
  const token = selectionTokenOf((await open(ctx, { accept_multiple: false, accept_lineitem: false })).body)
  const outline = await pickerPost(ctx.app, 'outline', [['selection', token], ['course', COURSE]])
  t.match(outline.body, /<input type="radio" name="usage"/, 'single select: radio buttons')
  const two = await pickerPost(ctx.app, 'submit', [['selection', token], ['course', COURSE], ['usage', UNIT1], ['usage', P2]])
  t.equal(two.status, 400)
  t.match(two.body, 'DEEP_LINKING_TOO_MANY_ITEMS')
  const one = await pickerPost(ctx.app, 'submit', [['selection', token], ['course', COURSE], ['usage', P2]])
  const received = await ctx.platform.verifyDeepLinkingResponse(answerOf(one.body).jwt, await toolJwks(ctx.app), { accept_multiple: false, accept_lineitem: false })
  t.equal(received.items.length, 1)
  t.equal(received.items[0]?.lineItem, undefined, 'no line item when the platform does not accept them')

  const token2 = selectionTokenOf((await open(ctx)).body)
  const cancelled = await pickerPost(ctx.app, 'cancel', [['selection', token2]])
  t.equal(cancelled.status, 200)
  const empty = await ctx.platform.verifyDeepLinkingResponse(answerOf(cancelled.body).jwt, await toolJwks(ctx.app), {})
  t.same(empty.items, [])
  t.equal(empty.msg, 'No content was selected.')
})

t.test("Open edX Studio's request shape: resource_link, empty title/text, no data", async t => {
  const ctx = await setup(t)
  const settings = { data: undefined, title: '', text: '', accept_types: ['ltiResourceLink'] }
  const first = await open(ctx, settings)
  t.equal(first.status, 200, first.body.slice(0, 300))
  const sent = await pickerPost(ctx.app, 'submit', [['selection', selectionTokenOf(first.body)], ['course', COURSE], ['usage', P2]])
  const received = await ctx.platform.verifyDeepLinkingResponse(answerOf(sent.body).jwt, await toolJwks(ctx.app), settings)
  t.notOk(DeepLinkingClaim.data in received.claims, 'no data claim when the request had none')
})

t.test('refusals of the request: each bad setting, wrong role, foreign return URL', async t => {
  const ctx = await setup(t)
  const cases: Array<[string, number, string, FakeDeepLinkingSettings, { roles?: string[], claims?: Record<string, unknown> }?]> = [
    ['no settings claim', 400, 'LTI13_MISSING_CLAIM', {}, { claims: { [DeepLinkingClaim.settings]: undefined } }],
    ['settings not an object', 400, 'LTI13_INVALID_CLAIM', {}, { claims: { [DeepLinkingClaim.settings]: 'x' } }],
    ['no return URL', 400, 'LTI13_MISSING_CLAIM', { deep_link_return_url: undefined }],
    ['return URL not a URL', 400, 'LTI13_INVALID_CLAIM', { deep_link_return_url: 'not a url' }],
    ['return URL javascript:', 400, 'LTI13_INVALID_CLAIM', { deep_link_return_url: 'javascript:alert(1)' }],
    ['return URL on a foreign host', 403, 'DEEP_LINKING_RETURN_URL_NOT_ALLOWED', { deep_link_return_url: 'https://evil.example.net/collect' }],
    ['no accept_types', 400, 'LTI13_MISSING_CLAIM', { accept_types: undefined }],
    ['accept_types not a list', 400, 'LTI13_INVALID_CLAIM', { accept_types: 'ltiResourceLink' }],
    ['accept_types without ltiResourceLink', 400, 'LTI13_DEEP_LINKING_TYPES_NOT_ACCEPTED', { accept_types: ['link', 'html'] }],
    ['accept_presentation_document_targets not a list', 400, 'LTI13_INVALID_CLAIM', { accept_presentation_document_targets: 'iframe' }],
    ['accept_multiple not a boolean', 400, 'LTI13_INVALID_CLAIM', { accept_multiple: 'yes' }],
    ['accept_lineitem not a boolean', 400, 'LTI13_INVALID_CLAIM', { accept_lineitem: 3 }],
    ['auto_create not a boolean', 400, 'LTI13_INVALID_CLAIM', { auto_create: {} }],
    ['data not a string', 400, 'LTI13_INVALID_CLAIM', { data: { a: 1 } }],
    ['title not a string', 400, 'LTI13_INVALID_CLAIM', { title: 5 }],
    ['a learner', 403, 'DEEP_LINKING_ROLE_NOT_ALLOWED', {}, { roles: [Role.membershipLearner, Role.institutionStudent] }],
    ['a mentor', 403, 'DEEP_LINKING_ROLE_NOT_ALLOWED', {}, { roles: [Role.membershipMentor] }],
    ['no role', 403, 'DEEP_LINKING_ROLE_NOT_ALLOWED', {}, { roles: [] }]
  ]
  for (const [name, status, code, settings, extra] of cases) {
    const res = await open(ctx, settings, extra)
    t.equal(res.status, status, name)
    t.match(res.body, `Error code: <code>${code}</code>`, name)
    t.notMatch(res.body, /at .*\.ts:\d+/, `${name}: no stack trace`)
  }
  t.equal(Number((await ctx.app.knex('deep_linking_selections').count({ n: '*' }).first())?.n), 0, 'no selection opened by a refused request')

  for (const roles of [[Role.membershipTeachingAssistant], [Role.membershipContentDeveloper], [Role.systemAdministrator], [Role.institutionInstructor]]) {
    t.equal((await open(ctx, {}, { roles })).status, 200, `${roles[0] as string} may select`)
  }
  // A resource link launch of the deep-linking URL, and a deep-linking request of a content URL.
  const wrong = await deepLinkingLaunch(ctx.app, ctx.platform, { userId: 'teacher-1', targetLinkUri: contentTargetLinkUri(PUBLIC_URL, COURSE, P2), roles: INSTRUCTOR, claims: ctx.platform.deepLinkingClaims() })
  t.match(wrong.body, 'LTI13_WRONG_MESSAGE_TARGET')
  const wrong2 = await deepLinkingLaunch(ctx.app, ctx.platform, { userId: 'teacher-1', targetLinkUri: DL_URL, roles: INSTRUCTOR })
  t.match(wrong2.body, 'LTI13_WRONG_MESSAGE_TARGET')
})

t.test('forged selections are refused on the server; the open selection survives them', async t => {
  const ctx = await setup(t)
  const token = selectionTokenOf((await open(ctx)).body)
  const [head, payload] = token.split('.') as [string, string, string]
  const forgedToken = `${head}.${payload}.${'A'.repeat(43)}`
  const tries: Array<[string, number, string, Array<[string, string]>]> = [
    ['no selection token', 400, 'DEEP_LINKING_SELECTION_INVALID', [['course', COURSE], ['usage', P2]]],
    ['a forged token', 400, 'DEEP_LINKING_SELECTION_INVALID', [['selection', forgedToken], ['course', COURSE], ['usage', P2]]],
    ['a course outside the scope', 403, 'CONTENT_OUT_OF_SCOPE', [['selection', token], ['course', OTHER_COURSE], ['usage', usageKey(OTHER_COURSE, 'problem', 'p2')]]],
    ['a block of another course', 400, 'DEEP_LINKING_BAD_CHOICE', [['selection', token], ['course', COURSE], ['usage', usageKey(OTHER_COURSE, 'problem', 'p2')]]],
    ['a block the course does not have', 400, 'DEEP_LINKING_BAD_CHOICE', [['selection', token], ['course', COURSE], ['usage', usageKey(COURSE, 'problem', 'nope')]]],
    ['a type not selectable', 400, 'DEEP_LINKING_BAD_CHOICE', [['selection', token], ['course', COURSE], ['usage', WEEK1]]],
    ['nothing chosen', 400, 'DEEP_LINKING_BAD_CHOICE', [['selection', token], ['course', COURSE]]]
  ]
  for (const [name, status, code, fields] of tries) {
    const res = await pickerPost(ctx.app, 'submit', fields)
    t.equal(res.status, status, name)
    t.match(res.body, code, name)
  }
  t.equal(ctx.platform.deepLinkingResponses.length, 0, 'nothing was signed')
  const ok = await pickerPost(ctx.app, 'submit', [['selection', token], ['course', COURSE], ['usage', P2]])
  t.equal(ok.status, 200, 'the real selection still answers')
})

t.test('scope limits what is offered; empty scope fails closed and says who to ask; types per registration', async t => {
  const empty = await setup(t, { contentScope: [] })
  const page = await open(empty)
  t.equal(page.status, 200)
  t.match(page.body, 'Ask the administrator of the Open edX LTI tool')
  t.notMatch(page.body, 'name="course"', 'no course to choose')

  const narrow = await setup(t, { contentScope: [`block-v1:${COURSE.slice(10)}+type@problem+block@*`], selectableBlockTypes: ['problem', 'vertical'] })
  const token = selectionTokenOf((await open(narrow)).body)
  const outline = await pickerPost(narrow.app, 'outline', [['selection', token], ['course', COURSE]])
  t.match(outline.body, /name="usage" value="[^"]*p2"/, 'problems in scope are offered')
  t.notMatch(outline.body, /name="usage" value="[^"]*unit1"/, 'units outside a block-level scope are not')
  t.notMatch(outline.body, /name="usage" value="[^"]*intro"/)
  const refused = await pickerPost(narrow.app, 'submit', [['selection', token], ['course', COURSE], ['usage', UNIT1]])
  t.equal(refused.status, 403)
  t.match(refused.body, 'CONTENT_OUT_OF_SCOPE')
})
