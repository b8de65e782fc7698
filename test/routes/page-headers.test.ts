/**
 * Every HTML page the service sends carries nosniff, Referrer-Policy, Cache-Control: no-store and a
 * CSP whose script/style hashes match the page's inline code and whose form-action names where its
 * forms go (issue 14). The page list is checked against the app's own route table: a new route
 * that is neither a JSON route nor in PAGES fails this test until someone says what it sends.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import app from '../../src/app.js'
import { serverOptions } from '../../src/server.js'
import { testConfig, adminHeaders } from '../helpers/build-app.js'
import { createTestDb } from '../helpers/db.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { registerFakePlatform } from '../helpers/lti13-registration.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { contentSecurityPolicy } from '../../src/views/page-security-headers.js'

const PUBLIC_URL = 'https://tool.example.org'
const COURSE = DEMO_COURSE_ID
const PROBLEM = usageKey(COURSE, 'problem', 'p1')
const LTI11_PATH = `/lti_provider/courses/${COURSE}/${PROBLEM}`
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const TARGET = contentTargetLinkUri(PUBLIC_URL, COURSE, PROBLEM)

/**
 * Routes that never answer HTML: the admin API (JSON even for errors), probes, metrics, keys, and the
 * published tool configuration (JSON, and the LTI 1.1 cartridge XML).
 */
const JSON_ROUTE = /^\/(admin\/api\/|health$|ready|metrics$|lti\/1\.3\/jwks$|lti\/1\.3\/config(\/canvas\.json)?$|lti\/1\.1\/config\.xml$)/

interface Ctx { app: FastifyInstance, lms: FakeLms, platform: FakeLti13Platform, routes: RouteOptions[] }

async function setup (t: Test): Promise<Ctx> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const db = await createTestDb(t)
  const config = testConfig({
    DATABASE_URL: db.url, PUBLIC_URL, LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY.key, LMS_RELAY_CONSUMER_SECRET: RELAY.secret
  })
  // Built by hand (not buildServer) so an onRoute hook sees every route the app declares.
  const routes: RouteOptions[] = []
  const server = Fastify(serverOptions(config))
  server.addHook('onRoute', route => { routes.push(route) })
  await server.register(app, { config, knex: db.knex })
  await server.ready()
  t.teardown(() => server.close())
  await registerFakePlatform(server.knex, platform)
  const res = await server.inject({ method: 'POST', url: '/admin/api/v1/lti11/consumers', headers: adminHeaders, payload: { name: 'Canvas', key: 'canvas', secret: 'canvas-secret-0123456789', contentScope: ['course-v1:OpenedX+*'] } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return { app: server, lms, platform, routes }
}

type Answer = Awaited<ReturnType<FastifyInstance['inject']>>

const form = (payload: Record<string, string>, extra: Record<string, string> = {}) => ({
  payload: new URLSearchParams(payload).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...extra }
})

function lti11 (ctx: Ctx, secret: string): Promise<Answer> {
  const signed = signLaunchWithImsLti(PUBLIC_URL + LTI11_PATH, 'canvas', secret, {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: 'learner-1', roles: 'Learner',
    context_id: 'ctx-1', tool_consumer_instance_guid: 'canvas.example.edu'
  })
  return ctx.app.inject({ method: 'POST', url: LTI11_PATH, ...form(Object.fromEntries(new URLSearchParams(signed.body))) })
}

async function login13 (ctx: Ctx, extra: Record<string, string> = {}) {
  const launch = { userId: 'learner-13', targetLinkUri: TARGET }
  const res = await ctx.app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams({ ...ctx.platform.loginInitiation(launch), ...extra })}`, headers: { accept: 'text/html' } })
  const location = res.headers.location === undefined ? undefined : new URL(String(res.headers.location))
  const state = location?.searchParams.get('state') ?? /name="state" value="([^"]*)"/.exec(res.body)?.[1] ?? ''
  const nonce = location?.searchParams.get('nonce') ?? /name="nonce" value="([^"]*)"/.exec(res.body)?.[1] ?? ''
  const cookie = String(res.headers['set-cookie'] ?? '').split(';')[0] as string
  return { res, state, idToken: await ctx.platform.mintIdToken({ nonce, launch }), cookie }
}

/** Every HTML page: name → how to get it (route pattern it comes from, and the answer). */
const PAGES: Array<{ name: string, route: string, get: (ctx: Ctx) => Promise<Answer> }> = [
  { name: '404 page', route: '(not found)', get: ctx => ctx.app.inject({ method: 'GET', url: '/no/such/page', headers: { accept: 'text/html' } }) },
  { name: 'malformed URL page', route: '(router)', get: ctx => ctx.app.inject({ method: 'GET', url: '/x%FF', headers: { accept: 'text/html' } }) },
  { name: 'LTI 1.1 refusal', route: '/lti_provider/courses/:courseId/:usageId', get: ctx => lti11(ctx, 'wrong-secret-0123456789') },
  { name: 'LTI 1.1 relay handoff form', route: '/lti_provider/courses/:courseId/:usageId', get: ctx => lti11(ctx, 'canvas-secret-0123456789') },
  { name: 'target-link page', route: '/lti/1.3/courses/:courseId/:usageId', get: ctx => ctx.app.inject({ method: 'GET', url: `/lti/1.3/courses/${COURSE}/${PROBLEM}`, headers: { accept: 'text/html' } }) },
  { name: 'LTI 1.3 login refusal', route: '/lti/1.3/login', get: ctx => ctx.app.inject({ method: 'GET', url: '/lti/1.3/login?iss=x', headers: { accept: 'text/html' } }) },
  { name: 'LTI 1.3 login platform-storage page', route: '/lti/1.3/login', get: async ctx => (await login13(ctx, { lti_storage_target: '_parent' })).res },
  {
    name: 'LTI 1.3 launch platform-storage page',
    route: '/lti/1.3/launch',
    get: async ctx => {
      const { state, idToken } = await login13(ctx, { lti_storage_target: '_parent' })
      return await ctx.app.inject({ method: 'POST', url: '/lti/1.3/launch', ...form({ id_token: idToken, state }) })
    }
  },
  {
    name: 'LTI 1.3 relay handoff form',
    route: '/lti/1.3/launch',
    get: async ctx => {
      const { state, idToken, cookie } = await login13(ctx)
      return await ctx.app.inject({ method: 'POST', url: '/lti/1.3/launch', ...form({ id_token: idToken, state }, { cookie }) })
    }
  },
  { name: 'LTI 1.3 launch refusal', route: '/lti/1.3/launch', get: ctx => ctx.app.inject({ method: 'POST', url: '/lti/1.3/launch', ...form({ state: 'x' }) }) },
  { name: 'Deep Linking target page', route: '/lti/1.3/deep-linking/launch', get: ctx => ctx.app.inject({ method: 'GET', url: '/lti/1.3/deep-linking/launch', headers: { accept: 'text/html' } }) },
  // The picker's own pages carry their own nonce policy (test/launch/lti13/deep-linking.test.ts); a
  // forged or stale selection is refused with a page from here.
  ...(['courses', 'outline', 'submit', 'cancel'] as const).map(step => ({
    name: `Deep Linking ${step} refusal`,
    route: `/lti/1.3/deep-linking/${step}`,
    get: (ctx: Ctx) => ctx.app.inject({ method: 'POST', url: `/lti/1.3/deep-linking/${step}`, ...form({ selection: 'forged' }) })
  })),
  {
    name: 'Dynamic Registration refusal',
    route: '/lti/1.3/register',
    get: ctx => ctx.app.inject({ method: 'GET', url: '/lti/1.3/register?invite=unknown&openid_configuration=https%3A%2F%2Fplatform.example%2F.well-known%2Fopenid-configuration&registration_token=t', headers: { accept: 'text/html' } })
  }
]

function sha256 (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

function directive (csp: string, name: string): string[] {
  return csp.split(';').map(d => d.trim().split(/\s+/)).find(([n]) => n === name)?.slice(1) ?? []
}

t.test('every HTML page sends the security headers and a CSP that fits the page', async t => {
  const ctx = await setup(t)
  for (const page of PAGES) {
    const res = await page.get(ctx)
    t.match(String(res.headers['content-type']), /^text\/html/, `${page.name}: is HTML (${res.statusCode})`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${page.name}: nosniff`)
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${page.name}: no referrer`)
    t.equal(res.headers['cache-control'], 'no-store', `${page.name}: not cached`)
    t.notOk(res.headers['x-frame-options'], `${page.name}: framing allowed (LTI pages live in the platform's iframe)`)
    const csp = String(res.headers['content-security-policy'] ?? '')
    t.same(directive(csp, 'default-src'), ["'none'"], `${page.name}: default-src 'none'`)
    t.notMatch(csp, /unsafe-inline|unsafe-eval|frame-ancestors/, `${page.name}: no unsafe sources, no frame-ancestors`)
    for (const [, attrs = '', body = ''] of res.body.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      if (/application\/json/.test(attrs)) continue
      t.ok(directive(csp, 'script-src').includes(sha256(body)), `${page.name}: its inline script is allowed by hash`)
    }
    for (const [, body = ''] of res.body.matchAll(/<style>([\s\S]*?)<\/style>/g)) {
      t.ok(directive(csp, 'style-src').includes(sha256(body)), `${page.name}: its inline style is allowed by hash`)
    }
    const actions = [...res.body.matchAll(/<form\b[^>]*\saction="([^"]*)"/g)].map(m => new URL((m[1] as string).replace(/&amp;/g, '&'), PUBLIC_URL).origin)
    for (const origin of actions) {
      const allowed = directive(csp, 'form-action')
      t.ok(allowed.includes(origin === PUBLIC_URL ? "'self'" : origin), `${page.name}: form-action allows ${origin}`)
    }
    if (actions.length === 0) t.same(directive(csp, 'form-action'), ["'none'"], `${page.name}: no form, no form target`)
  }
})

t.test('the list of HTML pages covers every route that is not a JSON route', async t => {
  const ctx = await setup(t)
  const covered = new Set(PAGES.map(p => p.route))
  const routes = [...new Set(ctx.routes.map(r => r.url))]
  t.ok(routes.length >= 10, 'the route table was seen')
  for (const url of routes) {
    if (JSON_ROUTE.test(url)) continue
    t.ok(covered.has(url), `${url}: HTML page(s) listed in PAGES (or a JSON route)`)
  }
})

t.test('CSP from the page: data blocks ignored, escaped actions decoded, redirect targets of forms allowed', async t => {
  const options = { selfOrigin: PUBLIC_URL, redirectOrigins: ['https://lms.example.org'] }
  const page = `<style>a{}</style><script type="application/json" id="c">{"a":1}</script><script>go()</script>
<form action="https://platform.example.com/auth?a=1&amp;b=2" method="get"></form>`
  const csp = contentSecurityPolicy(page, options)
  t.same(directive(csp, 'script-src'), [sha256('go()')], 'only the executable script, by hash')
  t.same(directive(csp, 'style-src'), [sha256('a{}')])
  t.same(directive(csp, 'form-action'), ['https://platform.example.com', 'https:'], 'a GET form to a platform follows its login redirects')
  t.same(directive(contentSecurityPolicy('<form method="post" action="/lti/1.3/launch">', options), 'form-action'), ["'self'", 'https://lms.example.org'],
    'a form posting here may be redirected to the LMS')
  t.same(directive(contentSecurityPolicy('<form method="post" action="https://lms.example.org/lti_provider/x">', options), 'form-action'), ['https://lms.example.org'],
    'a POST form to the LMS: that origin only')
  t.same(directive(contentSecurityPolicy('<p>hi</p>', options), 'script-src'), ["'none'"])
})
