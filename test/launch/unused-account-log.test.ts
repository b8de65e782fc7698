/**
 * A first launch that fails after the LMS account was created (here: the enrollment call fails)
 * leaves that account unused in the LMS. The operator is told, once, with the account's id and the
 * refusal code.
 */
import t, { type Test } from 'tap'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../support/fake-lms.js'
import { startFakeLti13Platform, parseAutoSubmitForm } from '../support/fake-lti13-platform.js'
import { createTestDb } from '../helpers/db.js'
import { testConfig } from '../helpers/build-app.js'
import { lmsEnv, RELAY_CONSUMER } from '../helpers/lms-env.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { buildServer } from '../../src/server.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { registerFakePlatform } from '../helpers/lti13-registration.js'

const PUBLIC_URL = 'https://tool.example.org'
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${PROBLEM}`
const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }

interface Line { level: number, msg: string, unusedLmsUserId?: number, code?: string }

async function setup (t: Test): Promise<{ app: FastifyInstance, lms: FakeLms, lines: Line[] }> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY_CONSUMER.key, secret: RELAY_CONSUMER.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const db = await createTestDb(t)
  const lines: Line[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Line); done() } })
  const config = testConfig({ DATABASE_URL: db.url, ...lmsEnv(lms, PUBLIC_URL, { timeoutMs: 1000 }) })
  const app = await buildServer(config, { knex: db.knex, fastify: { logger: { level: 'warn', stream } } })
  await app.ready()
  t.teardown(() => app.close())
  return { app, lms, lines }
}

const unused = (lines: Line[]) => lines.filter(l => l.unusedLmsUserId !== undefined)

t.test('LTI 1.1: enrollment fails after the account was created → one warning naming the account', async t => {
  const { app, lms, lines } = await setup(t)
  const now = Date.now()
  await createLti11ConsumersRepository(app.knex).insert({
    name: 'canvas', consumerKey: 'canvas', secretEnc: app.secretBox.seal('canvas-secret', CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: [], pinOutcomeHost: true,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  const launch = (userId: string) => signLaunchWithImsLti(PUBLIC_URL + PATH, 'canvas', 'canvas-secret', {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: userId, roles: 'Learner', context_id: 'ctx-1'
  }).body
  lms.state.failNext('enrollment-post', 3, 500)
  const res = await app.inject({ method: 'POST', url: PATH, payload: launch('new-learner'), headers: form })
  t.equal(res.statusCode, 503, 'the launch is refused')
  t.equal(await app.knex('lti_users').count({ n: '*' }).first().then(r => Number(r?.n)), 0, 'no mapping stored')
  const warned = unused(lines)
  t.equal(warned.length, 1, 'one warning')
  const created = [...lms.state.users.values()].at(-1)
  t.equal(warned[0]?.unusedLmsUserId, created?.id, 'it names the account the LMS created')
  t.equal(warned[0]?.code, 'LMS_UNAVAILABLE')

  // The same learner again, LMS healthy: a new account is made and kept; no warning.
  t.equal((await app.inject({ method: 'POST', url: PATH, payload: launch('new-learner'), headers: form })).statusCode, 200)
  t.equal(unused(lines).length, 1, 'a successful launch adds no warning')
})

t.test('LTI 1.3: enrollment fails after the account was created → one warning naming the account', async t => {
  const { app, lms, lines } = await setup(t)
  const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  await registerFakePlatform(app.knex, platform)
  const login = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation({ userId: 'sub-new', targetLinkUri: contentTargetLinkUri(PUBLIC_URL, DEMO_COURSE_ID, PROBLEM) }))}`, headers: { accept: 'text/html' } })
  const cookie = String(login.headers['set-cookie'] ?? '').split(';')[0] as string
  const fields = parseAutoSubmitForm(await (await fetch(String(login.headers.location), { redirect: 'manual' })).text()).fields
  lms.state.failNext('enrollment-post', 3, 500)
  const res = await app.inject({ method: 'POST', url: '/lti/1.3/launch', payload: new URLSearchParams({ id_token: fields.id_token as string, state: fields.state as string }).toString(), headers: { ...form, cookie } })
  t.equal(res.statusCode, 503, 'the launch is refused')
  t.equal(await app.knex('lti_profiles').count({ n: '*' }).first().then(r => Number(r?.n)), 0, 'no profile stored')
  const warned = unused(lines)
  t.equal(warned.length, 1, 'one warning')
  t.equal(warned[0]?.unusedLmsUserId, [...lms.state.users.values()].at(-1)?.id, 'it names the account the LMS created')
  t.equal(warned[0]?.code, 'LMS_UNAVAILABLE')
})
