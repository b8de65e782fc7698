/**
 * Admin changes take effect at once (issue 14): an LTI 1.1 consumer or an LTI 1.3 registration or
 * deployment that an admin disables, re-keys or removes stops launches on the instance that took the
 * change at the very next launch, and on another instance (same database) within CONSUMER_CACHE_MS.
 * A launch racing a removal is refused with its own code, never a 500, and writes nothing.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { adminHeaders, buildTestApp } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { registerFakePlatform } from '../helpers/lti13-registration.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { CONSUMER_CACHE_MS } from '../../src/launch/lti11/launch.js'
import type { TestDb } from '../helpers/db.js'

const PUBLIC_URL = 'https://tool.example.org'
const COURSE = DEMO_COURSE_ID
const PROBLEM = usageKey(COURSE, 'problem', 'p1')
const PATH = `/lti_provider/courses/${COURSE}/${PROBLEM}`
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const SECRET = 'canvas-secret-0123456789'

async function startLms (t: Test): Promise<FakeLms> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  return lms
}

function env (lms: FakeLms): Record<string, string> {
  return {
    PUBLIC_URL,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY.key,
    LMS_RELAY_CONSUMER_SECRET: RELAY.secret,
    LMS_TIMEOUT_MS: '3000'
  }
}

async function admin (app: FastifyInstance, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const res = await app.inject({ method, url: `/admin/api/v1${url}`, headers: adminHeaders, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`)
  return res.statusCode === 204 ? undefined : res.json()
}

async function addConsumer (app: FastifyInstance): Promise<number> {
  const created = await admin(app, 'POST', '/lti11/consumers', { name: 'Canvas', key: 'canvas', secret: SECRET, contentScope: ['course-v1:OpenedX+*'] }) as { id: number }
  return created.id
}

let learnerSeq = 0
async function launch11 (app: FastifyInstance, secret = SECRET, userId = `learner-${++learnerSeq}`) {
  const signed = signLaunchWithImsLti(PUBLIC_URL + PATH, 'canvas', secret, {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: userId, roles: 'Learner',
    context_id: 'ctx-1', tool_consumer_instance_guid: 'canvas.example.edu', lis_person_name_full: 'Ada Lovelace'
  })
  return await app.inject({ method: 'POST', url: PATH, payload: signed.body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
}

function code (res: { body: string }): string | undefined {
  return /Error code: <code>([A-Z0-9_]+)<\/code>/.exec(res.body)?.[1]
}

async function rows (db: TestDb) {
  const n = async (table: string) => Number((await db.knex(table).count({ n: '*' }).first())?.n)
  return { ltiUsers: await n('lti_users'), nonces: await n('oauth_nonces'), profiles: await n('lti_profiles'), deployments: await n('lti13_deployments') }
}

t.test('LTI 1.1: disable, new secret and removal take effect at the next launch on the same instance', async t => {
  const lms = await startLms(t)
  const { app } = await buildTestApp(t, env(lms))
  const id = await addConsumer(app)
  t.equal((await launch11(app)).statusCode, 200, 'launch works (and the consumer is now cached)')

  await admin(app, 'PATCH', `/lti11/consumers/${id}`, { active: false })
  const disabled = await launch11(app)
  t.equal(disabled.statusCode, 403)
  t.equal(code(disabled), 'LAUNCH_CONSUMER_INACTIVE', 'disabled: refused at once')
  await admin(app, 'PATCH', `/lti11/consumers/${id}`, { active: true })
  t.equal((await launch11(app)).statusCode, 200, 'enabled again: works at once')

  const newSecret = 'rotated-secret-abcdefghijkl'
  await admin(app, 'PATCH', `/lti11/consumers/${id}`, { secret: newSecret })
  const oldSecret = await launch11(app)
  t.equal(code(oldSecret), 'LTI11_BAD_SIGNATURE', 'the old secret is refused at once')
  t.equal((await launch11(app, newSecret)).statusCode, 200, 'the new secret works at once')

  await admin(app, 'DELETE', `/lti11/consumers/${id}`)
  const removed = await launch11(app, newSecret)
  t.equal(removed.statusCode, 401)
  t.equal(code(removed), 'LTI11_UNKNOWN_CONSUMER', 'removed: refused at once')
})

t.test(`LTI 1.1: a change made on another instance applies within CONSUMER_CACHE_MS (${CONSUMER_CACHE_MS} ms)`, async t => {
  const lms = await startLms(t)
  const { app: a, db } = await buildTestApp(t, env(lms))
  const { app: b } = await buildTestApp(t, env(lms), db)
  const id = await addConsumer(b)
  t.equal((await launch11(a)).statusCode, 200, 'instance A launches (and caches the consumer)')
  await admin(b, 'PATCH', `/lti11/consumers/${id}`, { active: false })
  t.equal(code(await launch11(b)), 'LAUNCH_CONSUMER_INACTIVE', 'instance B (took the change): at once')
  await new Promise(resolve => setTimeout(resolve, CONSUMER_CACHE_MS + 100))
  t.equal(code(await launch11(a)), 'LAUNCH_CONSUMER_INACTIVE', 'instance A: within the bound')
})

t.test('LTI 1.1: a launch racing the removal of its consumer is refused with LAUNCH_CONSUMER_REMOVED, nothing written', async t => {
  const lms = await startLms(t)
  const { app: a, db } = await buildTestApp(t, env(lms))
  const { app: b } = await buildTestApp(t, env(lms), db)

  await t.test('removed while the launch waits on the LMS (identity write refused by the foreign key)', async t => {
    const id = await addConsumer(a)
    const held = lms.hold('registration')
    const pending = launch11(a)
    await Promise.race([held.arrived, pending])
    await admin(b, 'DELETE', `/lti11/consumers/${id}`)
    held.release()
    const res = await pending
    t.equal(res.statusCode, 403, String(code(res)))
    t.equal(code(res), 'LAUNCH_CONSUMER_REMOVED')
    t.notMatch(res.body, /at .*\.ts:\d+/, 'no stack trace')
    t.same(await rows(db), { ltiUsers: 0, nonces: 0, profiles: 0, deployments: 0 }, 'nothing half-written')
  })

  await t.test('removed on another instance while this one still has it cached (nonce write refused)', async t => {
    const id = await addConsumer(a)
    // Two launches: the first records the instance GUID (which drops the cached row), the second caches it again.
    t.equal((await launch11(a)).statusCode, 200, 'A launches')
    t.equal((await launch11(a)).statusCode, 200, 'A caches the consumer')
    await admin(b, 'DELETE', `/lti11/consumers/${id}`)
    const res = await launch11(a)
    t.equal(res.statusCode, 403, String(code(res)))
    t.equal(code(res), 'LAUNCH_CONSUMER_REMOVED')
    t.same(await rows(db), { ltiUsers: 0, nonces: 0, profiles: 0, deployments: 0 }, 'the cascade removed everything, the launch added nothing')
  })
})

interface Lti13Ctx { app: FastifyInstance, db: TestDb, lms: FakeLms, platform: FakeLti13Platform, registrationId: number }

async function setup13 (t: Test): Promise<Lti13Ctx> {
  const lms = await startLms(t)
  const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const { app, db } = await buildTestApp(t, env(lms))
  const registrationId = await registerFakePlatform(app.knex, platform)
  return { app, db, lms, platform, registrationId }
}

async function launch13 (ctx: Lti13Ctx, userId = `learner-${++learnerSeq}`, between?: () => Promise<void>) {
  const launch = { userId, targetLinkUri: contentTargetLinkUri(PUBLIC_URL, COURSE, PROBLEM) }
  const login = await ctx.app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(ctx.platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
  if (login.statusCode !== 302) return login
  const query = new URL(String(login.headers.location)).searchParams
  await between?.()
  const idToken = await ctx.platform.mintIdToken({ nonce: query.get('nonce') ?? '', launch })
  return await ctx.app.inject({
    method: 'POST',
    url: '/lti/1.3/launch',
    payload: new URLSearchParams({ id_token: idToken, state: query.get('state') ?? '' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: String(login.headers['set-cookie'] ?? '').split(';')[0] as string }
  })
}

t.test('LTI 1.3: disabling or removing a registration or deployment stops launches at once', async t => {
  const ctx = await setup13(t)
  const reg = `/lti13/registrations/${ctx.registrationId}`
  t.equal((await launch13(ctx)).statusCode, 200, 'launch works')

  await admin(ctx.app, 'PATCH', reg, { active: false })
  t.equal(code(await launch13(ctx)), 'LTI13_REGISTRATION_INACTIVE', 'disabled: refused at once')
  await admin(ctx.app, 'PATCH', reg, { active: true })
  t.equal((await launch13(ctx)).statusCode, 200, 'enabled again: works at once')

  t.equal(code(await launch13(ctx, undefined, async () => { await admin(ctx.app, 'PATCH', reg, { active: false }) })), 'LTI13_REGISTRATION_INACTIVE',
    'disabled between login and launch: the launch is refused too')
  await admin(ctx.app, 'PATCH', reg, { active: true })

  await admin(ctx.app, 'DELETE', `${reg}/deployments/${encodeURIComponent(ctx.platform.deploymentId)}`)
  t.equal(code(await launch13(ctx)), 'LTI13_UNKNOWN_DEPLOYMENT', 'deployment removed: refused at once')
  await admin(ctx.app, 'POST', `${reg}/deployments`, { deploymentId: ctx.platform.deploymentId })

  const other = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => other.close())
  await admin(ctx.app, 'PATCH', reg, { jwksUrl: other.jwksUrl })
  t.equal(code(await launch13(ctx)), 'LTI13_UNKNOWN_KID', 're-keyed (new JWKS URL): tokens signed with the old key are refused at once')
  await admin(ctx.app, 'PATCH', reg, { jwksUrl: ctx.platform.jwksUrl })

  await admin(ctx.app, 'DELETE', reg)
  t.equal(code(await launch13(ctx)), 'LTI13_UNKNOWN_REGISTRATION', 'registration removed: refused at once')
})

t.test('LTI 1.3: a launch racing the removal of its registration is refused with LAUNCH_REGISTRATION_REMOVED, nothing written', async t => {
  const ctx = await setup13(t)
  const held = ctx.lms.hold('registration')
  const pending = launch13(ctx)
  await Promise.race([held.arrived, pending])
  await admin(ctx.app, 'DELETE', `/lti13/registrations/${ctx.registrationId}`)
  held.release()
  const res = await pending
  t.equal(res.statusCode, 403, String(code(res)))
  t.equal(code(res), 'LAUNCH_REGISTRATION_REMOVED')
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(await rows(ctx.db), { ltiUsers: 0, nonces: 0, profiles: 0, deployments: 0 }, 'nothing half-written')
})
