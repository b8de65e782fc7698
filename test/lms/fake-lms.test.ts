import { createHmac } from 'node:crypto'
import OAuth from 'oauth-1.0a'
import t from 'tap'
import { DEMO_COURSE_ID, startFakeLms, usageKey, type FakeLms, type FakeLmsOptions } from '../support/fake-lms.js'

// The fake LMS is what every launch and relay test leans on, so its own contract is tested here
// against an independent OAuth 1.0a signer (the oauth-1.0a package).

interface Teardown { teardown (fn: () => unknown): void }

async function fake (t: Teardown, opts: FakeLmsOptions = {}): Promise<FakeLms> {
  const lms = await startFakeLms(opts)
  t.teardown(() => lms.close())
  return lms
}

const UNIT1 = usageKey(DEMO_COURSE_ID, 'vertical', 'unit1')
const consumer = { key: 'relay-key', secret: 'relay-secret' }

function signedRelayForm (url: string, params: Record<string, string>, secret = consumer.secret): Record<string, string> {
  const oauth = new OAuth({
    consumer: { key: consumer.key, secret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  })
  const data = { roles: 'Learner', context_id: 'ctx-1', user_id: 'lms_learner_1', ...params }
  const signed = oauth.authorize({ url, method: 'POST', data })
  return { ...data, ...signed } as unknown as Record<string, string>
}

async function post (url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' })
}

t.test('relay: a correctly signed launch logs the learner in and is recorded', async t => {
  const lms = await fake(t, { ltiConsumers: [{ ...consumer, usePii: true }] })
  const url = `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`
  const res = await post(url, signedRelayForm(url, { lis_person_contact_email_primary: 'Learner1@Example.edu', lis_result_sourcedid: 'assignment-7' }))
  t.equal(res.status, 200)
  t.match(await res.text(), /data-usage-id="block-v1:OpenedX\+DemoX\+Demo_Course\+type@vertical\+block@unit1">Unit 1</)
  t.match(res.headers.get('set-cookie'), /^sessionid=/)
  const launch = lms.state.relayLaunches[0]
  t.match(launch, { courseId: DEMO_COURSE_ID, usageId: UNIT1, status: 200, username: 'lms_learner_1' })
  t.equal(launch?.form.lis_result_sourcedid, 'assignment-7', 'tests can assert what was posted')
  t.equal(lms.state.findUserByUsername('lms_learner_1')?.email, 'learner1@example.edu', 'use_lti_pii: username verbatim, email lower-cased')
})

t.test('relay with use_lti_pii links an existing account by email', async t => {
  const lms = await fake(t, { ltiConsumers: [consumer] })
  const existing = lms.state.addUser({ username: 'RealAccount', email: 'known@example.edu' })
  const url = `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`
  await post(url, signedRelayForm(url, { user_id: 'anything', lis_person_contact_email_primary: 'known@example.edu' }))
  t.equal(lms.state.relayLaunches[0]?.username, existing.username)
  t.equal(lms.state.users.size, 2, 'no account created')
})

t.test('relay without PII creates one random account per LTI user and reuses it', async t => {
  const lms = await fake(t, { ltiConsumers: [{ ...consumer, usePii: false }] })
  const url = `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`
  await post(url, signedRelayForm(url, { user_id: 'lti-user-9' }))
  await post(url, signedRelayForm(url, { user_id: 'lti-user-9' }))
  const [first, second] = lms.state.relayLaunches
  t.match(first?.username, /^[A-Za-z0-9]{1,30}$/)
  t.equal(second?.username, first?.username)
  t.match(lms.state.findUserByUsername(first?.username ?? '')?.email, /@lti\.example\.com$/)
})

t.test('relay refusals: the startup probe (400), bad signature, unknown consumer, feature off', async t => {
  const lms = await fake(t, { ltiConsumers: [consumer] })
  const url = `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`
  t.equal((await post(url, {})).status, 400, 'an empty POST answers 400 when the provider is enabled')
  t.equal((await post(url, signedRelayForm(url, {}, 'wrong-secret'))).status, 403)
  const tampered = signedRelayForm(url, {})
  tampered.user_id = 'someone-else'
  t.equal((await post(url, tampered)).status, 403, 'changing a signed field breaks the signature')
  const other = signedRelayForm(url, {})
  other.oauth_consumer_key = 'unknown'
  t.equal((await post(url, other)).status, 403)
  t.equal((await post(`${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${usageKey(DEMO_COURSE_ID, 'vertical', 'nope')}`, signedRelayForm(`${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${usageKey(DEMO_COURSE_ID, 'vertical', 'nope')}`, {}))).status, 404)
  lms.state.relayEnabled = false
  t.equal((await post(url, {})).status, 403, 'ENABLE_LTI_PROVIDER off')
  t.equal(lms.state.callCount('relay'), 6)
  t.equal(lms.state.users.size, 1, 'no account was created by a refused launch')
})

t.test('relay signature covers a percent-encoded path the way Django rebuilds it', async t => {
  const lms = await fake(t, { ltiConsumers: [consumer] })
  // The signer used the literal-+ URL; the browser posts %2B; Django decodes and re-quotes to +.
  const literal = `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`
  const encoded = `${lms.url}/lti_provider/courses/${encodeURIComponent(DEMO_COURSE_ID)}/${encodeURIComponent(UNIT1)}`
  t.equal((await post(encoded, signedRelayForm(literal, {}))).status, 200)
})

t.test('jump_to redirects to the Learning MFE unit; xblock needs a session and an enrollment', async t => {
  const lms = await fake(t, { ltiConsumers: [consumer], mfeUrl: 'https://apps.example.edu/learning/' })
  const seq = usageKey(DEMO_COURSE_ID, 'sequential', 'homework1')
  const p1 = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
  const jump = await fetch(`${lms.url}/courses/${DEMO_COURSE_ID}/jump_to/${p1}`, { redirect: 'manual' })
  t.equal(jump.status, 302)
  t.equal(jump.headers.get('location'), `https://apps.example.edu/learning/course/${DEMO_COURSE_ID}/${seq}/${UNIT1}`)
  t.equal((await fetch(`${lms.url}/courses/${DEMO_COURSE_ID}/jump_to/${usageKey(DEMO_COURSE_ID, 'problem', 'x')}`, { redirect: 'manual' })).status, 404)

  const xblockUrl = `${lms.url}/xblock/${UNIT1}?show_title=0`
  const anonymous = await fetch(xblockUrl, { redirect: 'manual' })
  t.equal(anonymous.status, 302)
  t.match(anonymous.headers.get('location'), /^\/login\?next=/)

  const relayUrl = `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`
  const launched = await post(relayUrl, signedRelayForm(relayUrl, {}))
  const cookie = (launched.headers.get('set-cookie') ?? '').split(';')[0] as string
  const notEnrolled = await fetch(xblockUrl, { headers: { cookie }, redirect: 'manual' })
  t.equal(notEnrolled.status, 404, 'reached directly, /xblock enforces enrollment')
  lms.state.enroll('lms_learner_1', DEMO_COURSE_ID)
  const enrolled = await fetch(xblockUrl, { headers: { cookie } })
  t.equal(enrolled.status, 200)
  t.match(await enrolled.text(), /Unit 1/)
})

t.test('fault switches and counters', async t => {
  const lms = await fake(t)
  const token = lms.state.issueToken('JWT')
  const me = (): Promise<Response> => fetch(`${lms.url}/api/user/v1/me`, { headers: { authorization: `JWT ${token}` } })
  lms.state.failNext('me', 1, 429, { retryAfter: 7 })
  lms.state.failNext('me', 1, 500)
  const throttled = await me()
  t.equal(throttled.status, 429)
  t.equal(throttled.headers.get('retry-after'), '7')
  t.equal((await me()).status, 500)
  t.same(await (await me()).json(), { username: 'lti_service' })
  t.equal(lms.state.callCount('me'), 3)
  t.equal(lms.state.callCount('token'), 0)
  lms.state.resetCounters()
  t.equal(lms.state.callCount('me'), 0)

  lms.state.failNext('me', 1, 'reset')
  await t.rejects(me(), 'reset closes the connection without an answer')
  lms.state.failNext('me', 1, 'timeout')
  await t.rejects(fetch(`${lms.url}/api/user/v1/me`, { headers: { authorization: `JWT ${token}` }, signal: AbortSignal.timeout(200) }), 'timeout never answers')
})

t.test('authentication of API routes', async t => {
  const lms = await fake(t)
  const url = `${lms.url}/api/user/v1/me`
  const none = await fetch(url)
  t.equal(none.status, 401)
  t.equal(none.headers.get('www-authenticate'), 'JWT realm="api"')
  const jwt = lms.state.issueToken('JWT')
  t.equal((await fetch(url, { headers: { authorization: `Bearer ${jwt}` } })).status, 401, 'a JWT must be sent with the JWT prefix')
  t.equal((await fetch(url, { headers: { authorization: `JWT ${jwt}` } })).status, 200)
  const expired = lms.state.issueToken('Bearer', 0)
  t.equal((await fetch(url, { headers: { authorization: `Bearer ${expired}` } })).status, 401)
  t.equal((await fetch(`${lms.url}/no/such/route`)).status, 404)
  t.equal(lms.state.callCount('unknown'), 1)
})

t.test('token endpoint', async t => {
  const lms = await fake(t, { clientId: 'cid', clientSecret: 'csecret', tokenTtlSeconds: 120 })
  const ask = (form: Record<string, string>): Promise<Response> => post(`${lms.url}/oauth2/access_token`, form)
  const ok = await ask({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'csecret', token_type: 'jwt' })
  const body = await ok.json() as Record<string, unknown>
  t.match(body, { token_type: 'JWT', expires_in: 120 })
  const payload = JSON.parse(Buffer.from(String(body.access_token).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
  t.match(payload, { administrator: true, preferred_username: 'lti_service' })
  t.equal((await ask({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'nope' })).status, 401)
  t.equal((await ask({ grant_type: 'password', client_id: 'cid', client_secret: 'csecret' })).status, 400)
  const opaque = await (await ask({ grant_type: 'client_credentials', client_id: 'cid', client_secret: 'csecret' })).json() as Record<string, unknown>
  t.equal(opaque.token_type, 'Bearer', 'without token_type=jwt the token is opaque')
})
