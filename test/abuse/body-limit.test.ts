/**
 * REQUEST_BODY_LIMIT on the routes that take bodies: an oversize LTI 1.1 launch form, an oversize
 * LTI 1.3 launch post and an oversize admin JSON are refused with 413 BODY_TOO_LARGE, declared
 * (Content-Length) or streamed (chunked, no length), and nothing is stored; a body just under the
 * limit still goes through, so it is the size that is refused.
 */
import t, { type Test } from 'tap'
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { adminHeaders, buildTestApp } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { lmsEnv } from '../helpers/lms-env.js'

const PUBLIC_URL = 'https://tool.example.org'
const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${PROBLEM}`
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const LIMIT = 4096

async function setup (t: Test): Promise<FastifyInstance> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const { app } = await buildTestApp(t, {
    ...lmsEnv(lms, PUBLIC_URL, { timeoutMs: 3000 }),
    REQUEST_BODY_LIMIT: String(LIMIT)
  })
  const now = Date.now()
  await createLti11ConsumersRepository(app.knex).insert({
    name: 'canvas', consumerKey: 'canvas', secretEnc: app.secretBox.seal('canvas-secret', CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['course-v1:OpenedX+*'], usePii: false, requireUserAccount: false, outcomeHosts: [], pinOutcomeHost: true,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  return app
}

/**
 * A validly signed launch whose body is padded (inside the signature) to at least `bytes` and at
 * most a few bytes more: the signature's percent-encoded length varies (`+`, `/`, `=` → `%2B`…),
 * so the padding is corrected until the body reaches the size.
 */
function signedOfSize (bytes: number, userId: string): string {
  const launch = { lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: userId, roles: 'Learner', context_id: 'ctx-1', custom_pad: '' }
  let pad = 0
  for (;;) {
    const body = signLaunchWithImsLti(PUBLIC_URL + PATH, 'canvas', 'canvas-secret', { ...launch, custom_pad: 'x'.repeat(pad) }).body
    if (body.length >= bytes) return body
    pad += bytes - body.length
  }
}

async function stored (app: FastifyInstance): Promise<Record<string, number>> {
  const out: Record<string, number> = {}
  for (const table of ['oauth_nonces', 'lti_users', 'graded_assignments', 'oidc_states', 'lti11_consumers', 'lti13_registrations']) {
    out[table] = Number((await app.knex(table).count({ n: '*' }).first())?.n)
  }
  return out
}

const form = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }

t.test('LTI 1.1 launch: a signed form over the limit is refused with 413 BODY_TOO_LARGE and stores nothing', async t => {
  const app = await setup(t)
  const under = signedOfSize(LIMIT - 64, 'under')
  t.ok(under.length <= LIMIT && under.length > LIMIT - 100, `a ${under.length}-byte launch`)
  const ok = await app.inject({ method: 'POST', url: PATH, payload: under, headers: form })
  t.equal(ok.statusCode, 200, `just under the limit: launched (${/<code>([A-Z0-9_]+)<\/code>/.exec(ok.body)?.[1] ?? ''})`)

  const before = await stored(app)
  for (const size of [LIMIT + 1, LIMIT * 4, 1024 * 1024]) {
    const body = signedOfSize(size, `over-${size}`)
    const declared = await app.inject({ method: 'POST', url: PATH, payload: body, headers: form })
    t.equal(declared.statusCode, 413, `${body.length} bytes with Content-Length: 413`)
    t.match(declared.body, /Error code: <code>BODY_TOO_LARGE<\/code>/, 'the stable code on the learner\'s page')
    const streamed = await app.inject({ method: 'POST', url: PATH, payload: Readable.from([Buffer.from(body)]), headers: form })
    t.equal(streamed.statusCode, 413, `${body.length} bytes streamed without a length: 413`)
    t.match(streamed.body, /BODY_TOO_LARGE/)
  }
  t.same(await stored(app), before, 'six oversize launches stored nothing (no nonce, no learner)')
})

t.test('LTI 1.3 launch: an oversize post is refused before its state is consumed', async t => {
  const app = await setup(t)
  const body = new URLSearchParams({ id_token: 'e'.repeat(LIMIT), state: 's' }).toString()
  const res = await app.inject({ method: 'POST', url: '/lti/1.3/launch', payload: body, headers: form })
  t.equal(res.statusCode, 413)
  t.match(res.body, /BODY_TOO_LARGE/)
  t.equal(res.headers['cache-control'], 'no-store', 'the refusal keeps the launch headers')
})

t.test('admin API: an oversize JSON body is refused with 413 BODY_TOO_LARGE and stores nothing', async t => {
  const app = await setup(t)
  const url = '/admin/api/v1/lti11/consumers'
  const before = await stored(app)
  const huge = { name: 'Huge', key: 'huge', secret: 's', contentScope: Array.from({ length: 2000 }, (_, i) => `course-v1:X+${i}+*`) }
  const res = await app.inject({ method: 'POST', url, headers: { ...adminHeaders, 'content-type': 'application/json' }, payload: JSON.stringify(huge) })
  t.equal(res.statusCode, 413)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.same(res.json(), { code: 'BODY_TOO_LARGE', message: res.json().message, requestId: res.json().requestId }, 'the JSON error shape with the stable code')
  // Deep nesting of the same size: refused by size before any parser recursion.
  const deep = '{"name":"d","key":"d","secret":"s","x":' + '['.repeat(LIMIT) + ']'.repeat(LIMIT) + '}'
  const nested = await app.inject({ method: 'POST', url, headers: { ...adminHeaders, 'content-type': 'application/json' }, payload: deep })
  t.equal(nested.statusCode, 413)
  t.equal(nested.json().code, 'BODY_TOO_LARGE')
  const streamed = await app.inject({ method: 'POST', url, headers: { ...adminHeaders, 'content-type': 'application/json' }, payload: Readable.from([Buffer.from(JSON.stringify(huge))]) })
  t.equal(streamed.statusCode, 413, 'streamed without a length: 413')
  t.same(await stored(app), before, 'no consumer stored')

  const small = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { name: 'Small', key: 'small', secret: 'small-consumer-secret-1' } })
  t.equal(small.statusCode, 201, 'a body under the limit is created')
})
