import t from 'tap'
import { isAppError } from '../../src/errors.js'
import { LmsClient, type LmsClientOptions } from '../../src/lms/lms-client.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey, type FakeLms, type FakeLmsOptions } from '../support/fake-lms.js'

interface Teardown { teardown (fn: () => unknown): void }

const SECRET = 'lti-provider-secret'

async function setup (t: Teardown, lmsOptions: FakeLmsOptions = {}, clientOptions: Partial<LmsClientOptions> = {}): Promise<{ lms: FakeLms, client: LmsClient, sleeps: number[] }> {
  const lms = await startFakeLms(lmsOptions)
  const sleeps: number[] = []
  const client = new LmsClient({
    lmsUrl: lms.url,
    clientId: 'lti-provider-client',
    clientSecret: SECRET,
    retryBaseDelayMs: 100,
    sleep: async ms => { sleeps.push(ms) },
    random: () => 0.5,
    ...clientOptions,
  })
  t.teardown(async () => { await client.close(); await lms.close() })
  return { lms, client, sleeps }
}

async function failure (p: Promise<unknown>): Promise<{ code: string, status: number, details: Record<string, unknown> }> {
  try {
    await p
  } catch (err) {
    if (isAppError(err)) return { code: err.code, status: err.status, details: err.details ?? {} }
    throw err
  }
  throw new Error('expected a failure')
}

const SEQ = usageKey(DEMO_COURSE_ID, 'sequential', 'homework1')
const UNIT1 = usageKey(DEMO_COURSE_ID, 'vertical', 'unit1')
const P1 = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const P2 = usageKey(DEMO_COURSE_ID, 'problem', 'p2')
const P3 = usageKey(DEMO_COURSE_ID, 'problem', 'p3')

t.test('#1 service token: client credentials, JWT, cached, single flight', async t => {
  let now = Date.now()
  const { lms, client } = await setup(t, {}, { now: () => now })
  const [a, b, c] = await Promise.all([client.getServiceToken(), client.getServiceToken(), client.getServiceToken()])
  t.equal(lms.state.callCount('token'), 1, 'one request for three concurrent callers')
  t.equal(a?.scheme, 'JWT')
  t.equal(a?.accessToken.split('.').length, 3, 'JWT-shaped')
  t.equal(b?.accessToken, a?.accessToken)
  t.equal(c?.accessToken, a?.accessToken)
  const form = new URLSearchParams(lms.state.requests.find(r => r.route === 'token')?.body)
  t.same(Object.fromEntries(form), { grant_type: 'client_credentials', client_id: 'lti-provider-client', client_secret: SECRET, token_type: 'jwt' })

  await client.whoAmI()
  t.equal(lms.state.callCount('token'), 1, 'API calls reuse the cached token')
  const auth = lms.state.requests.find(r => r.route === 'me')?.headers.authorization
  t.equal(auth, `JWT ${a?.accessToken}`)

  now += (3600 - 60) * 1000
  await client.getServiceToken()
  t.equal(lms.state.callCount('token'), 2, 'renewed at expires_in − 60 s')
})

t.test('#1 an LMS without JWT support gets an opaque Bearer token', async t => {
  const { lms, client } = await setup(t, { supportsJwt: false })
  const token = await client.getServiceToken()
  t.equal(token.scheme, 'Bearer')
  const me = await client.whoAmI()
  t.equal(me.username, 'lti_service')
  t.match(lms.state.requests.find(r => r.route === 'me')?.headers.authorization, /^Bearer [0-9a-f]+$/)
})

t.test('#1 wrong client secret is an auth failure, not retried', async t => {
  const { lms, client } = await setup(t, {}, { clientSecret: 'wrong' })
  const f = await failure(client.whoAmI())
  t.equal(f.code, 'LMS_AUTH_FAILED')
  t.equal(f.status, 503)
  t.equal(lms.state.callCount('token'), 1)
  t.notMatch(JSON.stringify(f.details), /wrong|secret/i, 'no secret in details')
})

t.test('a revoked token is replaced once, transparently', async t => {
  const { lms, client } = await setup(t)
  await client.whoAmI()
  lms.state.revokeTokens()
  const account = await client.findUserByUsername('lti_service')
  t.equal(account?.username, 'lti_service')
  t.equal(lms.state.callCount('token'), 2)
})

t.test('tokens the LMS keeps refusing end in LMS_AUTH_FAILED after one renewal', async t => {
  // Tokens that are already expired when issued: every API call answers 401.
  const { lms, client } = await setup(t, { tokenTtlSeconds: 0 })
  const f = await failure(client.findUserByUsername('lti_service'))
  t.equal(f.code, 'LMS_AUTH_FAILED')
  t.equal(lms.state.callCount('accounts'), 2)
  t.equal(lms.state.callCount('token'), 2)
})

t.test('an answer that is not the JSON the call expects is LMS_BAD_RESPONSE', async t => {
  const { lms, client } = await setup(t)
  await client.getServiceToken()
  lms.state.failNext('me', 1, 'garbage')
  const f = await failure(client.whoAmI())
  t.equal(f.code, 'LMS_BAD_RESPONSE')
  t.equal(f.status, 502)
  t.equal(f.details.reason, 'not-json')
})

t.test('a malformed LMS URL is a configuration error at construction', async t => {
  t.throws(() => new LmsClient({ lmsUrl: 'lms.example.edu', clientId: 'c', clientSecret: 's' }), TypeError)
})

t.test('#2 whoAmI tells staff from non-staff', async t => {
  const staff = await setup(t)
  t.same(await staff.client.whoAmI(), { username: 'lti_service', isStaff: true })
  const plain = await setup(t, { serviceUser: { username: 'plain_service', isStaff: false } })
  t.same(await plain.client.whoAmI(), { username: 'plain_service', isStaff: false })
  t.equal(plain.lms.state.requests.find(r => r.route === 'accounts')?.url.includes('email='), true, 'probed with an email lookup')
})

t.test('#3 #4 #5 user lookups', async t => {
  const { lms, client } = await setup(t)
  const alice = lms.state.addUser({ username: 'alice', email: 'Alice@Example.edu', name: 'Alice A' })
  lms.state.retireEmail('gone@example.edu')

  const byName = await client.findUserByUsername('alice')
  t.match(byName, { id: alice.id, username: 'alice', email: 'Alice@Example.edu', name: 'Alice A', isActive: true })
  t.equal(await client.findUserByUsername('nobody'), null)
  t.equal(await client.findUserByUsername('alice,lti_service'), null, 'a comma would turn the lookup into a list')
  t.equal((await client.findUserByEmail('alice@example.edu'))?.id, alice.id)
  t.equal(await client.findUserByEmail('nobody@example.edu'), null)
  t.equal((await failure(client.findUserByEmail('gone@example.edu'))).code, 'LMS_EMAIL_RETIRED')
  t.equal((await client.findUserById(alice.id))?.username, 'alice')
  t.equal(await client.findUserById(99999), null)
  t.equal(await client.findUserById(-1), null)

  const lookups = lms.state.requests.filter(r => r.route === 'accounts').map(r => r.url)
  t.ok(lookups.includes('/api/user/v1/accounts?username=alice'), 'parameter is `username`')
  t.ok(lookups.includes('/api/user/v1/accounts?email=alice%40example.edu'))
  t.ok(lookups.includes(`/api/user/v1/accounts?lms_user_id=${alice.id}`))
})

t.test('#4 #5 need staff: a non-staff service user gets LMS_PERMISSION_DENIED', async t => {
  const { client } = await setup(t, { serviceUser: { isStaff: false } })
  t.equal((await failure(client.findUserByEmail('x@example.edu'))).code, 'LMS_PERMISSION_DENIED')
  t.equal((await failure(client.findUserById(1))).code, 'LMS_PERMISSION_DENIED')
})

t.test('#6 createUser: form-encoded registration, cookies dropped, inactive account', async t => {
  const { lms, client } = await setup(t)
  const created = await client.createUser({ username: 'Zq8xW2', email: 'zq8xw2@lti.example.com', name: 'Learner', password: 'Xy9-very-random-password-value-000' })
  const account = lms.state.findUserByUsername('Zq8xW2')
  t.same(created, { userId: account?.id, username: 'Zq8xW2' })
  t.equal(account?.isActive, false, 'registration-API accounts wait for activation')

  const reg = lms.state.requests.find(r => r.route === 'registration')
  t.equal(reg?.headers['content-type'], 'application/x-www-form-urlencoded')
  t.equal(reg?.headers.authorization, undefined, 'registration is anonymous')
  t.match(Object.fromEntries(new URLSearchParams(reg?.body)), { username: 'Zq8xW2', email: 'zq8xw2@lti.example.com', name: 'Learner', honor_code: 'true', terms_of_service: 'true' })

  await client.findUserByUsername('Zq8xW2')
  const after = lms.state.requests.at(-1)
  t.equal(after?.headers.cookie, undefined, 'the login cookies of the registration answer are not replayed')
})

t.test('#6 createUser on an older LMS reads the new id back', async t => {
  const { lms, client } = await setup(t, { legacyRegistrationAnswer: true })
  const created = await client.createUser({ username: 'OldStyle1', email: 'old@example.edu', name: 'O', password: 'Pw-123456789-abcdefghijklmnopqrstuv' })
  t.same(created, { userId: lms.state.findUserByUsername('OldStyle1')?.id, username: 'OldStyle1' })
  t.equal(lms.state.callCount('accounts'), 1, 'one lookup by username')
})

t.test('#6 createUser passes the required extra fields', async t => {
  const strict = await setup(t, { registrationRequiredFields: ['country'] })
  const missing = await failure(strict.client.createUser({ username: 'u1', email: 'u1@x.example', name: 'U', password: 'Pw-123456789-abcdefghijklmnopqrstuv' }))
  t.equal(missing.code, 'LMS_REGISTRATION_INVALID')
  t.same(missing.details.fields, ['country'])
  t.equal(missing.details.errorCode, 'validation-error')

  const withCountry = await setup(t, { registrationRequiredFields: ['country'] }, { registrationExtraFields: { country: 'US' } })
  t.equal((await withCountry.client.createUser({ username: 'u1', email: 'u1@x.example', name: 'U', password: 'Pw-123456789-abcdefghijklmnopqrstuv' })).username, 'u1')
})

t.test('#6 createUser conflicts (409) carry the error code and suggestions, never the messages', async t => {
  const { lms, client } = await setup(t)
  lms.state.addUser({ username: 'taken', email: 'taken@example.edu' })
  const pw = 'Pw-123456789-abcdefghijklmnopqrstuv'
  const both = await failure(client.createUser({ username: 'taken', email: 'taken@example.edu', name: 'T', password: pw }))
  t.equal(both.code, 'LMS_USER_CONFLICT')
  t.equal(both.status, 409)
  t.equal(both.details.errorCode, 'duplicate-email-username')
  t.same(both.details.fields, ['email', 'username'])
  t.equal((both.details.usernameSuggestions as string[]).length, 3)
  t.notMatch(JSON.stringify(both.details), /taken@example\.edu/, 'no email in details')

  t.equal((await failure(client.createUser({ username: 'fresh', email: 'TAKEN@example.edu', name: 'T', password: pw }))).details.errorCode, 'duplicate-email')
  t.equal((await failure(client.createUser({ username: 'Taken', email: 'new@example.edu', name: 'T', password: pw }))).details.errorCode, 'duplicate-username')
})

t.test('#6 createUser validation (400)', async t => {
  const { client } = await setup(t)
  const f = await failure(client.createUser({ username: 'same-as-pw', email: 'not-an-email', name: 'X', password: 'same-as-pw' }))
  t.equal(f.code, 'LMS_REGISTRATION_INVALID')
  t.same(f.details.fields, ['email', 'password'])
})

t.test('#6 the registration rate limit (403 forbidden-request) switches to relay creation for a while', async t => {
  let now = Date.now()
  const { lms, client } = await setup(t, { registrationLimit: 1 }, { now: () => now, registrationCooldownMs: 60_000 })
  const pw = 'Pw-123456789-abcdefghijklmnopqrstuv'
  await client.createUser({ username: 'first', email: 'first@example.edu', name: 'F', password: pw })
  const limited = await failure(client.createUser({ username: 'second', email: 'second@example.edu', name: 'S', password: pw }))
  t.equal(limited.code, 'LMS_REGISTRATION_RATE_LIMITED')
  t.equal(lms.state.callCount('registration'), 2, 'a 403 is not retried')
  t.ok(client.registrationPausedUntil() !== null)

  const again = await failure(client.createUser({ username: 'third', email: 'third@example.edu', name: 'T', password: pw }))
  t.equal(again.code, 'LMS_REGISTRATION_RATE_LIMITED')
  t.equal(lms.state.callCount('registration'), 2, 'not even tried during the cooldown')

  now += 60_000
  t.equal(client.registrationPausedUntil(), null)
  lms.state.registrationRemaining = 5
  t.equal((await client.createUser({ username: 'third', email: 'third@example.edu', name: 'T', password: pw })).username, 'third')
})

t.test('#6 registration disabled on the site (plain 403)', async t => {
  const { client } = await setup(t, { registrationDisabled: true })
  const f = await failure(client.createUser({ username: 'x1', email: 'x1@example.edu', name: 'X', password: 'Pw-123456789-abcdefghijklmnopqrstuv' }))
  t.equal(f.code, 'LMS_REGISTRATION_FORBIDDEN')
  t.equal(client.registrationPausedUntil(), null, 'only the rate limit starts a cooldown')
})

t.test('#7 #8 enrollment', async t => {
  const { lms, client } = await setup(t, {
    courses: [
      { id: DEMO_COURSE_ID, modes: ['audit', 'verified'] },
      { id: 'course-v1:Org+Closed+R', inviteOnly: true },
    ],
  })
  lms.state.addUser({ username: 'bob', email: 'bob@example.edu' })

  t.equal(await client.getEnrollment('bob', DEMO_COURSE_ID), null, 'not enrolled: 200 with an empty body')
  const enrolled = await client.enroll('bob', DEMO_COURSE_ID)
  t.match(enrolled, { username: 'bob', courseId: DEMO_COURSE_ID, mode: 'audit', isActive: true })
  t.same(enrolled.courseModes, ['audit', 'verified'])
  const post = lms.state.requests.find(r => r.route === 'enrollment-post')
  t.same(JSON.parse(post?.body ?? '{}'), { user: 'bob', course_details: { course_id: DEMO_COURSE_ID }, mode: 'audit', is_active: true })
  t.match(await client.getEnrollment('bob', DEMO_COURSE_ID), { mode: 'audit', isActive: true })
  t.ok(lms.state.requests.some(r => r.url === `/api/enrollment/v1/enrollment/bob,${DEMO_COURSE_ID}`), 'path keeps + and : literal')

  const forced = await client.enroll('bob', 'course-v1:Org+Closed+R')
  t.equal(forced.isActive, true, 'invite-only course: 403, then force_enrollment')
  const bodies = lms.state.requests.filter(r => r.route === 'enrollment-post').map(r => JSON.parse(r.body) as Record<string, unknown>)
  t.equal(bodies.at(-1)?.force_enrollment, true)
  t.equal(bodies.at(-2)?.force_enrollment, undefined)

  const missingUser = await failure(client.enroll('ghost', DEMO_COURSE_ID))
  t.equal(missingUser.code, 'LMS_USER_NOT_FOUND', '406')

  const badMode = await failure(client.enroll('bob', DEMO_COURSE_ID, 'professional'))
  t.equal(badMode.code, 'LMS_ENROLLMENT_REFUSED')
  t.same(badMode.details.courseModes, ['audit', 'verified'], 'the modes that exist, to pick from')

  t.equal((await failure(client.enroll('bob', 'course-v1:Nope+N+N'))).code, 'LMS_ENROLLMENT_REFUSED', 'unknown course is a 400')
  t.equal((await failure(client.getEnrollment('bob', 'not a key'))).code, 'LMS_CONTENT_KEY_INVALID')
})

t.test('#8 a non-staff service user enrolling someone else gets the deliberate 404', async t => {
  const { lms, client } = await setup(t, { serviceUser: { isStaff: false } })
  lms.state.addUser({ username: 'carol', email: 'carol@example.edu' })
  t.equal((await failure(client.enroll('carol', DEMO_COURSE_ID))).code, 'LMS_PERMISSION_DENIED')
})

t.test('#10 subsection score: weighted sum of every problem, as score_for_block', async t => {
  const { lms, client } = await setup(t)
  const dana = lms.state.addUser({ username: 'dana', email: 'dana@example.edu' })
  lms.state.setProblemScore('dana', P1, 1, 1)
  lms.state.setProblemScore('dana', P2, 1, 2) // weight 5: counts 2.5 of 5
  // p3 unattempted: 0 of 1
  const score = await client.getSubsectionScore(SEQ, dana.id)
  t.same(score, { earned: 3.5, possible: 7, override: null, available: true })
  t.ok(lms.state.requests.some(r => r.url === `/api/grades/v1/subsection/${SEQ}/?user_id=${dana.id}`))

  lms.state.subsectionOverrides.set(`${dana.id}|${SEQ}`, { earned: 7, possible: null })
  t.same((await client.getSubsectionScore(SEQ, dana.id))?.override, { earned: 7, possible: null })
  t.equal(await client.getSubsectionScore(usageKey(DEMO_COURSE_ID, 'sequential', 'missing'), dana.id), null)
})

t.test('#11 block tree as the learner sees it', async t => {
  const { lms, client } = await setup(t)
  lms.state.addUser({ username: 'erin', email: 'erin@example.edu' })
  const tree = await client.getBlockTree(SEQ, 'erin')
  t.equal(tree?.root, SEQ)
  t.same(Object.keys(tree?.blocks ?? {}).sort(), [SEQ, UNIT1, usageKey(DEMO_COURSE_ID, 'vertical', 'unit2'), P1, P2, P3].sort())
  t.match(tree?.blocks[SEQ], { type: 'sequential', graded: true, format: 'Homework', hasScore: false, children: [UNIT1, usageKey(DEMO_COURSE_ID, 'vertical', 'unit2')] })
  t.match(tree?.blocks[P2], { type: 'problem', hasScore: true, weight: 5, children: [] })
  t.equal(tree?.blocks[P1]?.weight, null)
  t.equal(tree?.blocks[P1]?.studentViewUrl, `${lms.url}/xblock/${P1}`)
  const url = new URL(lms.state.requests.find(r => r.route === 'blocks')?.url ?? '', 'http://x')
  t.same(Object.fromEntries(url.searchParams), {
    username: 'erin', depth: 'all', return_type: 'dict', requested_fields: 'children,type,display_name,has_score,weight,graded,format,due,show_correctness',
  })
  t.equal(await client.getBlockTree(SEQ, 'nobody'), null)
})

t.test('#12 progress: problem scores in post-order, enrollment required', async t => {
  const { lms, client } = await setup(t)
  const fay = lms.state.addUser({ username: 'fay', email: 'fay@example.edu' })
  t.equal(await client.getProgress(DEMO_COURSE_ID, fay.id), null, 'not enrolled: 404 on both paths')
  t.equal(lms.state.callCount('progress'), 2)
  lms.state.enroll('fay', DEMO_COURSE_ID)
  lms.state.setProblemScore('fay', P3, 1, 1)
  const progress = await client.getProgress(DEMO_COURSE_ID, fay.id)
  const homework = progress?.sections[0]?.subsections.find(s => s.blockKey === SEQ)
  t.same(homework?.problemScores, [{ earned: 0, possible: 1 }, { earned: 0, possible: 5 }, { earned: 1, possible: 1 }])
  t.equal(homework?.earned, 1)
  t.equal(homework?.possible, 7)
  const reading = progress?.sections[0]?.subsections.find(s => s.blockKey === usageKey(DEMO_COURSE_ID, 'sequential', 'reading1'))
  t.same(reading?.problemScores, [])
})

t.test('retries: 5xx with backoff, then success', async t => {
  const { lms, client, sleeps } = await setup(t)
  await client.getServiceToken()
  lms.state.failNext('me', 2, 503)
  t.equal((await client.whoAmI()).username, 'lti_service')
  t.equal(lms.state.callCount('me'), 3)
  t.same(sleeps, [75, 150], 'exponential, with jitter (random fixed at 0.5 here)')
})

t.test('retries: Retry-After is honoured, within bounds', async t => {
  const { lms, client, sleeps } = await setup(t)
  await client.getServiceToken()
  lms.state.failNext('me', 1, 429, { retryAfter: 3 })
  await client.whoAmI()
  t.same(sleeps, [3000])

  lms.state.failNext('me', 1, 429, { retryAfter: 3600 })
  const f = await failure(client.whoAmI())
  t.equal(f.code, 'LMS_RATE_LIMITED', 'an hour is not waited for inside a launch')
  t.equal(f.details.retryAfterSeconds, 3600)
})

t.test('retries are bounded', async t => {
  const { lms, client } = await setup(t, {}, { retries: 2 })
  await client.getServiceToken()
  lms.state.failNext('me', 5, 500)
  const f = await failure(client.whoAmI())
  t.equal(f.code, 'LMS_UNAVAILABLE')
  t.equal(f.status, 503)
  t.equal(f.details.attempts, 3)
  t.equal(lms.state.callCount('me'), 3)
})

t.test('a hanging LMS times out per attempt and is retried', async t => {
  const { lms, client } = await setup(t, {}, { timeoutMs: 200 })
  await client.getServiceToken()
  lms.state.failNext('me', 1, 'timeout')
  const started = Date.now()
  t.equal((await client.whoAmI()).username, 'lti_service')
  t.ok(Date.now() - started < 5000)
  t.equal(lms.state.callCount('me'), 2)
})

t.test('reset connections are retried; when they persist the LMS is unavailable', async t => {
  const { lms, client } = await setup(t, {}, { retries: 1 })
  await client.getServiceToken()
  lms.state.failNext('me', 1, 'reset')
  t.equal((await client.whoAmI()).username, 'lti_service')
  lms.state.failNext('me', 2, 'reset')
  const f = await failure(client.whoAmI())
  t.equal(f.code, 'LMS_UNAVAILABLE')
  t.equal(f.details.cause, 'HTTP_OUT_CONNECT_FAILED')
})

t.test('the token endpoint is retried too', async t => {
  const { lms, client } = await setup(t)
  lms.state.failNext('token', 1, 502)
  await client.getServiceToken()
  t.equal(lms.state.callCount('token'), 2)
})

t.test('an unreachable LMS is LMS_UNAVAILABLE', async t => {
  const client = new LmsClient({ lmsUrl: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's', retries: 1, sleep: async () => undefined })
  t.teardown(() => client.close())
  const f = await failure(client.whoAmI())
  t.equal(f.code, 'LMS_UNAVAILABLE')
})

t.test('#15 contentUrls on the client uses the LMS base URL', async t => {
  const { lms, client } = await setup(t)
  t.equal(client.contentUrls(DEMO_COURSE_ID, UNIT1).relay, `${lms.url}/lti_provider/courses/${DEMO_COURSE_ID}/${UNIT1}`)
})

t.test('User-Agent on LMS calls', async t => {
  const { lms, client } = await setup(t)
  await client.whoAmI()
  t.match(lms.state.requests[0]?.headers['user-agent'], /^openedx-lti-provider\/\d+\.\d+\.\d+/)
})
