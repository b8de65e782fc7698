/**
 * The per-registration launch budget of LTI 1.3, through the real app: logins on our route,
 * id_tokens minted by the fake platform's key with each login's nonce, identity on the fake LMS.
 * A flood of valid launches of registration R1 degrades into 429 RATE_LIMITED while R2 launches
 * from the same address; forged and replayed id_tokens naming R1 do not spend its budget; a refused
 * launch stores nothing (its single-use state is consumed, as by any refusal).
 */
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLti13Platform, type MintOptions } from '../support/fake-lti13-platform.js'
import { buildTestApp } from '../helpers/build-app.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { createLti13RegistrationsRepository } from '../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../src/db/repositories/lti13-deployments-repository.js'
import { lmsEnv } from '../helpers/lms-env.js'

const PUBLIC_URL = 'https://tool.example.org'
const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const TARGET = contentTargetLinkUri(PUBLIC_URL, DEMO_COURSE_ID, PROBLEM)
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const IP = '198.51.100.40'

interface Ctx { app: FastifyInstance, r1: FakeLti13Platform, r2: FakeLti13Platform }

async function setup (t: Test, env: Record<string, string>): Promise<Ctx> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const { app } = await buildTestApp(t, {
    ...lmsEnv(lms, PUBLIC_URL, { timeoutMs: 3000 }),
    ...env
  })
  const platforms: FakeLti13Platform[] = []
  for (let i = 0; i < 2; i++) {
    const platform = await startFakeLti13Platform({ redirectUris: [LAUNCH_URL] })
    t.teardown(() => platform.close())
    const now = Date.now()
    const id = await createLti13RegistrationsRepository(app.knex).insert({
      name: `platform ${i}`, issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
      authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
      contentScope: ['course-v1:OpenedX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
      tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now
    })
    await createLti13DeploymentsRepository(app.knex).insert({ registrationId: id, deploymentId: platform.deploymentId, source: 'admin', createdAt: now })
    platforms.push(platform)
  }
  return { app, r1: platforms[0]!, r2: platforms[1]! }
}

/** Login on our route, then the form post of an id_token minted with that login's nonce. */
async function launch (ctx: Ctx, platform: FakeLti13Platform, userId: string, mint: MintOptions = {}): Promise<{ res: LightMyRequestResponse, fields: Record<string, string>, cookie: string }> {
  const fake = { userId, targetLinkUri: TARGET }
  const login = await ctx.app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(fake))}`, remoteAddress: IP, headers: { accept: 'text/html' } })
  if (login.statusCode !== 302) throw new Error(`login refused: ${login.statusCode} ${login.body}`)
  const query = new URL(String(login.headers.location)).searchParams
  const cookie = String(login.headers['set-cookie']).split(';')[0]!
  const fields = { id_token: await platform.mintIdToken({ launch: fake, nonce: query.get('nonce')!, ...mint }), state: query.get('state')! }
  return { res: await post(ctx.app, fields, cookie), fields, cookie }
}

async function post (app: FastifyInstance, fields: Record<string, string>, cookie: string): Promise<LightMyRequestResponse> {
  return await app.inject({
    method: 'POST', url: '/lti/1.3/launch', payload: new URLSearchParams(fields).toString(), remoteAddress: IP,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie }
  })
}

async function stored (app: FastifyInstance): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['lti_profiles', 'graded_resources', 'lti13_deployments', 'lti_users', 'oauth_nonces']) {
    out[table] = Number((await app.knex(table).count({ n: '*' }).first())?.n)
  }
  return out
}

const states = async (app: FastifyInstance): Promise<number> => Number((await app.knex('oidc_states').count({ n: '*' }).first())?.n)

t.test('(b) a flood of valid launches of registration R1 gets 429 while R2, from the same address, still launches', async t => {
  const ctx = await setup(t, { RATE_LIMIT_PER_CONSUMER: '3', RATE_LIMIT_WINDOW_SECONDS: '60' })
  for (let i = 0; i < 3; i++) t.equal((await launch(ctx, ctx.r1, `r1-${i}`)).res.statusCode, 200, `R1 launch ${i + 1}`)
  const before = await stored(ctx.app)
  for (let i = 3; i < 13; i++) {
    const { res } = await launch(ctx, ctx.r1, `r1-${i}`)
    t.equal(res.statusCode, 429, `R1 launch ${i + 1} refused`)
    if (i === 3) {
      t.match(res.body, /Error code: <code>RATE_LIMITED<\/code>/)
      const retryAfter = Number(res.headers['retry-after'])
      t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`)
      t.equal(res.headers['cache-control'], 'no-store', 'the refusal page carries the launch headers')
    }
  }
  t.same(await stored(ctx.app), before, 'nothing stored for 10 refused launches: no profile, resource, deployment')
  t.equal(await states(ctx.app), 0, 'the refused launches\' single-use states are consumed, none left over')
  for (let i = 0; i < 3; i++) t.equal((await launch(ctx, ctx.r2, `r2-${i}`)).res.statusCode, 200, `R2 launch ${i + 1}`)
})

t.test('(c) forged and replayed id_tokens naming R1 do not spend its budget', async t => {
  const ctx = await setup(t, { RATE_LIMIT_PER_CONSUMER: '2', RATE_LIMIT_WINDOW_SECONDS: '60' })
  const forgeries: Array<[MintOptions, number, string]> = [
    [{ signing: 'foreign-key' }, 401, 'LTI13_BAD_SIGNATURE'],
    [{ signing: 'none' }, 401, 'LTI13_ALG_NOT_ALLOWED'],
    [{ signing: 'hs256-public-key' }, 401, 'LTI13_ALG_NOT_ALLOWED']
  ]
  let tried = 0
  for (let round = 0; round < 4; round++) {
    for (const [mint, status, code] of forgeries) {
      const { res } = await launch(ctx, ctx.r1, `forged-${tried++}`, mint)
      if (res.statusCode !== status || !res.body.includes(code)) t.fail(`${code}: ${res.statusCode}`)
    }
  }
  t.pass(`${tried} forged id_tokens refused with their own codes`)
  const first = await launch(ctx, ctx.r1, 'learner-1')
  t.equal(first.res.statusCode, 200, 'valid launch 1 of 2')
  for (let i = 0; i < 10; i++) {
    const replay = await post(ctx.app, first.fields, first.cookie)
    if (replay.statusCode === 200 || replay.statusCode === 429) t.fail(`replay ${i}: ${replay.statusCode}`)
  }
  t.pass('10 replays of the captured form refused (state already consumed)')
  t.equal((await launch(ctx, ctx.r1, 'learner-2')).res.statusCode, 200, 'valid launch 2 of 2: 22 hostile posts cost R1 nothing')
  t.equal((await launch(ctx, ctx.r1, 'learner-3')).res.statusCode, 429, 'the 3rd valid launch is over the budget')
})

t.test('the launch route shares the address budget with the login', async t => {
  const ctx = await setup(t, { RATE_LIMIT_PER_IP: '3', RATE_LIMIT_WINDOW_SECONDS: '60' })
  t.equal((await launch(ctx, ctx.r1, 'l-1')).res.statusCode, 200, 'login + launch: 2 of 3')
  const before = await stored(ctx.app)
  const login = await ctx.app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(ctx.r1.loginInitiation({ userId: 'l-2', targetLinkUri: TARGET }))}`, remoteAddress: IP })
  t.equal(login.statusCode, 302, 'login: 3 of 3')
  const query = new URL(String(login.headers.location)).searchParams
  const idToken = await ctx.r1.mintIdToken({ launch: { userId: 'l-2', targetLinkUri: TARGET }, nonce: query.get('nonce')! })
  const res = await post(ctx.app, { id_token: idToken, state: query.get('state')! }, String(login.headers['set-cookie']).split(';')[0]!)
  t.equal(res.statusCode, 429, 'the valid launch over the address budget is refused')
  t.match(res.body, /RATE_LIMITED/)
  t.same(await stored(ctx.app), before, 'nothing stored')
  t.equal(await states(ctx.app), 1, 'refused before the pipeline: its state is not even consumed')
})
