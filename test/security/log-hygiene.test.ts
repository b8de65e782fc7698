/**
 * Logs are widely readable (lti-checklist.md §2.19): whatever a launch, a refusal or an admin call
 * carries, no secret, token, signature or email may reach them. The app runs with the production
 * logger options (serverOptions: redaction, request serializer) at the most verbose level, its
 * output captured, while secrets and PII flow through every route; then the capture is searched
 * for each sensitive value.
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { startFakeLti13Platform, parseAutoSubmitForm } from '../support/fake-lti13-platform.js'
import { createTestDb } from '../helpers/db.js'
import { testConfig, adminHeaders, TEST_ADMIN_TOKEN } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { serverOptions } from '../../src/server.js'
import { secretValues } from '../../src/config.js'
import app from '../../src/app.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { lmsEnv } from '../helpers/lms-env.js'
import { registerFakePlatform } from '../helpers/lti13-registration.js'

const PUBLIC_URL = 'https://tool.example.org'
const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${PROBLEM}`
const RELAY = { key: 'lms-relay-key', secret: 'relay-secret-4f1b2c9d8e7a' }
const CONSUMER_SECRET = 'consumer-secret-9a8b7c6d5e4f'
const EMAIL_11 = 'grace.hopper.log-test@example.edu'
const EMAIL_13 = 'katherine.johnson.log-test@example.edu'

interface Captured { app: FastifyInstance, lines: string[], sensitive: string[] }

async function setup (t: Test): Promise<Captured & { platform: Awaited<ReturnType<typeof startFakeLti13Platform>> }> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti13Platform({ redirectUris: [LAUNCH_URL] })
  t.teardown(() => platform.close())
  const db = await createTestDb(t)
  const config = testConfig({
    DATABASE_URL: db.url,
    LOG_LEVEL: 'trace',
    ...lmsEnv(lms, PUBLIC_URL, { timeoutMs: 1500, relaySecret: RELAY.secret })
  })
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const options = serverOptions(config)
  t.type(options.logger, 'object', 'the production logger options are in use')
  const server = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  await server.register(app, { config, knex: db.knex })
  await server.ready()
  t.teardown(() => server.close())
  const sensitive = [...secretValues(config), TEST_ADMIN_TOKEN, CONSUMER_SECRET, RELAY.secret, EMAIL_11, EMAIL_13]
  return { app: server, lines, sensitive, platform }
}

function assertClean (t: Test, lines: string[], values: string[]): void {
  const all = lines.join('')
  t.ok(lines.length > 5, `the logger wrote (${lines.length} lines), so the search below means something`)
  for (const value of new Set(values)) {
    t.notOk(all.includes(value), `no log line contains ${value.slice(0, 6)}… (${value.length} chars)`)
  }
}

t.test('launches, refusals and admin calls log no secret, token, signature or email', async t => {
  const { app: server, lines, sensitive, platform } = await setup(t)
  const seen: string[] = []

  // Admin: the consumer secret travels in a JSON body, the admin token in a header.
  const created = await server.inject({
    method: 'POST', url: '/admin/api/v1/lti11/consumers', headers: adminHeaders,
    payload: { name: 'Canvas', key: 'canvas', secret: CONSUMER_SECRET, contentScope: ['course-v1:OpenedX+*'], usePii: true }
  })
  t.equal(created.statusCode, 201, created.body)
  const badAdmin = await server.inject({ method: 'GET', url: '/admin/api/v1/lti11/consumers', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}x` } })
  t.equal(badAdmin.statusCode, 403, 'a wrong admin token is refused (and its value not logged)')

  // LTI 1.1: a good launch with PII, then the same body tampered (refused: bad signature).
  const signed = signLaunchWithImsLti(PUBLIC_URL + PATH, 'canvas', CONSUMER_SECRET, {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-log', user_id: 'learner-log',
    roles: 'Learner', context_id: 'ctx-log', tool_consumer_instance_guid: 'canvas.example.edu', lis_person_contact_email_primary: EMAIL_11, lis_person_name_full: 'Grace Hopper',
    lis_result_sourcedid: 'sourcedid-log-1', lis_outcome_service_url: 'https://canvas.example.edu/api/lti/v1/outcomes'
  })
  seen.push(signed.params.oauth_signature as string)
  const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }
  const ok11 = await server.inject({ method: 'POST', url: PATH, payload: signed.body, headers: form })
  t.equal(ok11.statusCode, 200, ok11.body)
  const tampered = signed.body.replace('learner-log', 'learner-evil')
  const bad11 = await server.inject({ method: 'POST', url: PATH, payload: tampered, headers: form })
  t.equal(bad11.statusCode, 401, 'the tampered launch is refused')
  t.match(bad11.body, /LTI11_BAD_SIGNATURE/)

  // LTI 1.3: login (state, nonce, hints in the query), the id_token with an email, then a replay.
  await registerFakePlatform(server.knex, platform, { usePii: true })
  const launch = { userId: 'sub-log', targetLinkUri: contentTargetLinkUri(PUBLIC_URL, DEMO_COURSE_ID, PROBLEM), pii: { name: 'Katherine Johnson', email: EMAIL_13 } }
  const loginRes = await server.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
  t.equal(loginRes.statusCode, 302, loginRes.body)
  const location = String(loginRes.headers.location)
  const cookie = String(loginRes.headers['set-cookie'] ?? '').split(';')[0] as string
  const auth = await fetch(location, { redirect: 'manual', signal: AbortSignal.timeout(5000) })
  const fields = parseAutoSubmitForm(await auth.text()).fields
  const idToken = fields.id_token as string
  const state = fields.state as string
  seen.push(idToken, state, idToken.split('.')[2] as string, new URL(location).searchParams.get('nonce') as string, cookie.split('=')[1] as string)
  const post13 = async () => await server.inject({
    method: 'POST', url: '/lti/1.3/launch', payload: new URLSearchParams({ id_token: idToken, state }).toString(),
    headers: { ...form, cookie }
  })
  const ok13 = await post13()
  t.equal(ok13.statusCode, 200, ok13.body)
  const replay = await post13()
  t.equal(replay.statusCode >= 400 && replay.statusCode < 500, true, `the replayed launch is refused (${replay.statusCode})`)

  await server.close()
  assertClean(t, lines, [...sensitive, ...seen].filter(v => v.length >= 8))
  t.ok(lines.some(l => l.includes('LTI11_BAD_SIGNATURE')), 'the refusal itself is logged with its code')
})
