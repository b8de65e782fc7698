import t from 'tap'
import { decodeJwt } from 'jose'
import { validateLaunch } from '../../../src/lti/v13/launch-validator.js'
import { LtiClaim, Role, Scope } from '../../../src/lti/claims.js'
import { createToolHarness, startFakeLti13Platform } from '../../support/fake-lti13-platform.js'

const PUBLIC_URL = 'https://tool.example.test'
const COURSE = 'course-v1:MITx+6.002x+2024_T1'
const USAGE = 'block-v1:MITx+6.002x+2024_T1+type@problem+block@9f1c'

t.test('full launch against the fake Open edX platform', async t => {
  const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const tool = createToolHarness(platform, { publicUrl: PUBLIC_URL })
  const target = tool.contentUrl(COURSE, USAGE)
  t.equal(target, `${PUBLIC_URL}/lti/1.3/courses/${COURSE}/${USAGE}`, 'keys stay literal in the path')

  const { login, idToken, state, form } = await tool.loginAndAuthorize({
    userId: 'student-42',
    targetLinkUri: target,
    pii: { name: 'Ada Learner', email: 'ada@example.org' },
    custom: { due: '2024-05-01' }
  })

  // What the platform received: the exact OIDC auth request (wire-formats.md §5).
  const auth = platform.authRequests[0] as Record<string, string>
  t.same(Object.keys(auth).sort(), ['client_id', 'login_hint', 'lti_message_hint', 'nonce', 'prompt', 'redirect_uri', 'response_mode', 'response_type', 'scope', 'state'])
  t.equal(auth.redirect_uri, `${PUBLIC_URL}/lti/1.3/launch`)
  t.equal(auth.login_hint, 'student-42')
  t.equal(auth.nonce, login.nonce)
  t.equal(state, login.state, 'platform echoes the state')
  t.notOk('lti_storage_target' in form)
  t.equal(decodeJwt(idToken).nonce, login.nonce, 'platform put our nonce in the id_token')

  const launch = await validateLaunch({ idToken, state, binding: login.binding }, tool.launchDeps)
  t.equal(launch.iss, platform.issuer)
  t.equal(launch.clientId, platform.clientId)
  t.equal(launch.deploymentId, '1')
  t.equal(launch.sub, 'student-42')
  t.equal(launch.messageType, 'LtiResourceLinkRequest')
  t.same(launch.roles, [Role.institutionStudent, Role.membershipLearner])
  t.equal(launch.courseKey, COURSE)
  t.equal(launch.usageKey, USAGE)
  t.equal(launch.targetLinkUri, target)
  t.equal(launch.name, 'Ada Learner')
  t.equal(launch.email, 'ada@example.org')
  t.same(launch.custom, { due: '2024-05-01' })
  t.same(launch.ags?.scope, [Scope.agsLineItemReadonly, Scope.agsResultReadonly, Scope.agsScore])
  t.match(launch.ags?.lineitem, /\/lti-ags\/7$/)
  t.match(launch.ags?.lineitems, /\/lti-ags$/)
  t.equal(launch.namesRoleService?.serviceVersions[0], '2.0')
  t.equal(launch.context?.id, 'course-v1:Platform+P1+2024')
  t.equal(launch.launchPresentation?.documentTarget, 'iframe')
  t.equal(launch.resourceLink.title, 'Problem set 1')
  t.equal(launch.platformStorage, undefined)
  t.equal(launch.lti1p1, undefined)
  t.equal(tool.stateStore.records.size, 0, 'state consumed')

  await t.rejects(validateLaunch({ idToken, state, binding: login.binding }, tool.launchDeps),
    { code: 'LTI13_STATE_REPLAYED' }, 'the same form_post cannot be replayed')
})

t.test('generic target with custom openedx_usage_key, PUBLIC_URL with a path prefix, platform storage', async t => {
  const publicUrl = 'https://edx.example.test/lti-tool/'
  const platform = await startFakeLti13Platform({ redirectUris: ['https://edx.example.test/lti-tool/lti/1.3/launch'] })
  t.teardown(() => platform.close())
  const tool = createToolHarness(platform, { publicUrl, registration: { deploymentPolicy: 'record' } })
  const { login, idToken, state, form } = await tool.loginAndAuthorize({
    userId: 'u1',
    targetLinkUri: 'https://edx.example.test/lti-tool/lti/1.3/launch',
    custom: { openedx_usage_key: USAGE },
    ltiStorageTarget: '_parent'
  })
  t.same(login.platformStorage, { frame: '_parent', targetOrigin: platform.issuer })
  t.equal(form.lti_storage_target, '_parent')
  const launch = await validateLaunch({ idToken, state, binding: login.binding }, tool.launchDeps)
  t.equal(launch.courseKey, undefined)
  t.equal(launch.usageKey, USAGE)
  t.same(launch.platformStorage, { frame: '_parent', targetOrigin: platform.issuer })
  t.ok(tool.deployments.entries.has('1\u00001'), 'record policy records the deployment')
})

t.test('launch claims of an instructor with a context role, lti1p1 claim kept as found', async t => {
  const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const tool = createToolHarness(platform, { publicUrl: PUBLIC_URL })
  const { login, idToken, state } = await tool.loginAndAuthorize({
    userId: 'staff-1',
    targetLinkUri: tool.contentUrl(COURSE, USAGE),
    roles: [Role.systemAdministrator, Role.institutionInstructor, Role.membershipInstructor],
    claims: { [LtiClaim.lti1p1]: { user_id: 'legacy-9', oauth_consumer_key: 'key', oauth_consumer_key_sign: 'c2ln', resource_link_id: 'rl' } }
  })
  const launch = await validateLaunch({ idToken, state, binding: login.binding }, tool.launchDeps)
  t.same(launch.roles, [Role.systemAdministrator, Role.institutionInstructor, Role.membershipInstructor])
  t.same(launch.lti1p1, { userId: 'legacy-9', oauthConsumerKey: 'key', oauthConsumerKeySign: 'c2ln', resourceLinkId: 'rl' })
  t.equal(launch.name, undefined, 'no PII unless the platform shares it')
  t.equal(launch.email, undefined)
})

t.test('the fake platform refuses a bad auth request (unregistered redirect_uri)', async t => {
  const platform = await startFakeLti13Platform({ redirectUris: ['https://elsewhere.example.test/launch'] })
  t.teardown(() => platform.close())
  const tool = createToolHarness(platform, { publicUrl: PUBLIC_URL })
  await t.rejects(tool.loginAndAuthorize({ userId: 'u', targetLinkUri: tool.contentUrl(COURSE, USAGE) }), /unregistered redirect_uri/)
})
