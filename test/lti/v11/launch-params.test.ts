import t from 'tap'
import { parseLti11Launch } from '../../../src/lti/v11/launch-params.js'

// What an Open edX platform (xblock-lti-consumer lti_1p1/consumer.py) sends, per wire-formats.md §2.
const openEdxLaunch: Array<[string, string]> = [
  ['oauth_callback', 'about:blank'],
  ['oauth_consumer_key', 'key'],
  ['oauth_nonce', '160243094282843962361700000000'],
  ['oauth_signature', 'sig='],
  ['oauth_signature_method', 'HMAC-SHA1'],
  ['oauth_timestamp', '1700000000'],
  ['oauth_version', '1.0'],
  ['lti_message_type', 'basic-lti-launch-request'],
  ['lti_version', 'LTI-1p0'],
  ['resource_link_id', 'lms.example.org-7a7f3c'],
  ['context_id', 'course-v1:Org+C1+R1'],
  ['context_title', 'Demo course'],
  ['context_label', 'Org'],
  ['user_id', '5a6b7c8d9e'],
  ['roles', 'Student,Learner'],
  ['launch_presentation_return_url', ''],
  ['launch_presentation_document_target', 'iframe'],
  ['lis_result_sourcedid', 'course-v1%3AOrg%2BC1%2BR1:lms.example.org-7a7f3c:5a6b7c8d9e'],
  ['lis_outcome_service_url', 'https://lms.example.org/courses/course-v1:Org+C1+R1/xblock/block-v1:Org+C1+R1+type@lti_consumer+block@7a7f3c/handler_noauth/outcome_service_handler'],
  ['lis_person_sourcedid', 'learner1'],
  ['lis_person_contact_email_primary', 'learner@example.org'],
  ['tool_consumer_info_product_family_code', 'Open edX'],
  ['tool_consumer_instance_guid', 'lms.example.org'],
  ['custom_component_display_name', 'Quiz'],
  ['custom_x', 'a=b&c']
]

const without = (name: string) => openEdxLaunch.filter(([n]) => n !== name)
const withValue = (name: string, value: string) => [...without(name), [name, value]] as Array<[string, string]>

t.test('an Open edX platform launch becomes a typed Lti11Launch', async t => {
  const launch = parseLti11Launch(openEdxLaunch)
  t.same(launch, {
    messageType: 'basic-lti-launch-request',
    ltiVersion: 'LTI-1p0',
    resourceLinkId: 'lms.example.org-7a7f3c',
    resourceLinkTitle: undefined,
    userId: '5a6b7c8d9e',
    roles: ['Student', 'Learner'],
    contextId: 'course-v1:Org+C1+R1',
    contextTitle: 'Demo course',
    contextLabel: 'Org',
    lisResultSourcedid: 'course-v1%3AOrg%2BC1%2BR1:lms.example.org-7a7f3c:5a6b7c8d9e',
    lisOutcomeServiceUrl: 'https://lms.example.org/courses/course-v1:Org+C1+R1/xblock/block-v1:Org+C1+R1+type@lti_consumer+block@7a7f3c/handler_noauth/outcome_service_handler',
    toolConsumerInstanceGuid: 'lms.example.org',
    toolConsumerInfoProductFamilyCode: 'Open edX',
    person: { sourcedid: 'learner1', nameGiven: undefined, nameFamily: undefined, nameFull: undefined, contactEmailPrimary: 'learner@example.org' },
    custom: { component_display_name: 'Quiz', x: 'a=b&c' },
    launchPresentation: { return_url: '', document_target: 'iframe' }
  })
})

t.test('record input (as @fastify/formbody gives it) works the same', async t => {
  t.same(parseLti11Launch(Object.fromEntries(openEdxLaunch)), parseLti11Launch(openEdxLaunch))
})

t.test('message type and version', async t => {
  t.throws(() => parseLti11Launch(without('lti_message_type')), { code: 'LTI11_MISSING_PARAM', status: 400, details: { name: 'lti_message_type' } })
  t.throws(() => parseLti11Launch(withValue('lti_message_type', 'ContentItemSelectionRequest')), { code: 'LTI11_BAD_MESSAGE_TYPE', status: 400, details: { received: 'ContentItemSelectionRequest' } })
  t.throws(() => parseLti11Launch(without('lti_version')), { code: 'LTI11_MISSING_PARAM', details: { name: 'lti_version' } })
  t.throws(() => parseLti11Launch(withValue('lti_version', 'LTI-2p0')), { code: 'LTI11_BAD_VERSION', status: 400 })
  t.equal(parseLti11Launch(withValue('lti_version', 'LTI-1p1'), { acceptedVersions: ['LTI-1p0', 'LTI-1p1'] }).ltiVersion, 'LTI-1p1', 'relaxed per platform')
})

t.test('required identifiers (edx-platform: roles, context_id, user_id; plus resource_link_id)', async t => {
  for (const name of ['resource_link_id', 'user_id', 'context_id', 'roles']) {
    t.throws(() => parseLti11Launch(without(name)), { code: 'LTI11_MISSING_PARAM', status: 400, details: { name } }, `${name} missing`)
  }
  for (const name of ['resource_link_id', 'user_id', 'context_id']) {
    t.throws(() => parseLti11Launch(withValue(name, '  ')), { code: 'LTI11_MISSING_PARAM', details: { name } }, `${name} blank`)
  }
  t.same(parseLti11Launch(withValue('roles', '')).roles, [], 'an empty roles value is accepted, as edx-platform does')
  t.same(parseLti11Launch(withValue('roles', ' Instructor , urn:lti:role:ims/lis/TeachingAssistant,,')).roles, ['Instructor', 'urn:lti:role:ims/lis/TeachingAssistant'])
})

t.test('a repeated parameter we read is refused; other repeats are ignored', async t => {
  for (const name of ['user_id', 'roles', 'lti_message_type', 'resource_link_id', 'lis_result_sourcedid', 'lis_outcome_service_url', 'custom_x', 'lis_person_contact_email_primary', 'launch_presentation_return_url', 'tool_consumer_instance_guid']) {
    const value = openEdxLaunch.find(([n]) => n === name)?.[1] ?? 'v'
    t.throws(() => parseLti11Launch([...openEdxLaunch, [name, value]]), { code: 'LTI11_DUPLICATE_PARAM', status: 400, details: { name } }, name)
  }
  t.doesNotThrow(() => parseLti11Launch([...openEdxLaunch, ['ext_thing', '1'], ['ext_thing', '2']]))
  t.doesNotThrow(() => parseLti11Launch({ ...Object.fromEntries(openEdxLaunch), ext_list: ['1', '2'] }))
  t.throws(() => parseLti11Launch({ ...Object.fromEntries(openEdxLaunch), user_id: ['a', 'b'] }), { code: 'LTI11_DUPLICATE_PARAM' })
})

t.test('the outcome service URL must be an absolute http(s) URL when present', async t => {
  t.equal(parseLti11Launch(withValue('lis_outcome_service_url', '')).lisOutcomeServiceUrl, undefined)
  for (const bad of ['/relative/path', 'javascript:alert(1)', 'file:///etc/passwd', 'not a url']) {
    t.throws(() => parseLti11Launch(withValue('lis_outcome_service_url', bad)), { code: 'LTI11_MALFORMED_PARAM', details: { name: 'lis_outcome_service_url' } }, bad)
  }
})

t.test('custom parameter names are plain data', async t => {
  const launch = parseLti11Launch([...openEdxLaunch, ['custom___proto__', 'polluted'], ['custom_', 'nameless']])
  t.equal(Object.getPrototypeOf(launch.custom), Object.prototype)
  t.equal(Object.getOwnPropertyDescriptor(launch.custom, '__proto__')?.value, 'polluted')
  t.notOk('' in launch.custom, 'a bare custom_ has no name and is dropped')
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})
