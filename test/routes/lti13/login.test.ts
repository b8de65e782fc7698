/**
 * GET and POST /lti/1.3/login: the authentication request we redirect to (wire-formats.md §5), the
 * binding cookie's attributes, what is stored server-side (never the binding itself), headers.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { decodeJwt } from 'jose'
import { buildTestApp } from '../../helpers/build-app.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../../support/fake-lti13-platform.js'
import { createLti13RegistrationsRepository } from '../../../src/db/repositories/lti13-registrations-repository.js'

const PUBLIC_URL = 'https://tool.example.org'
const TARGET = `${PUBLIC_URL}/lti/1.3/courses/course-v1:OpenedX+DemoX+Demo_Course/block-v1:OpenedX+DemoX+Demo_Course+type@problem+block@p1`

async function setup (t: Test) {
  const platform: FakeLti13Platform = await startFakeLti13Platform({ redirectUris: [`${PUBLIC_URL}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  const { app } = await buildTestApp(t, { PUBLIC_URL, LTI13_STATE_TTL: '300' })
  const now = Date.now()
  // The auth endpoint carries a query of its own: it must be kept.
  const authLoginUrl = `${platform.authLoginUrl}?tenant=a%2Bb`
  await createLti13RegistrationsRepository(app.knex).insert({
    name: 'p', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl, authTokenUrl: platform.tokenUrl,
    authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict', contentScope: ['*'], usePii: false,
    allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [], tokenMaxAge: 300, lti11ConsumerId: null, active: true,
    createdAt: now, updatedAt: now
  })
  const params = {
    iss: platform.issuer,
    client_id: platform.clientId,
    lti_deployment_id: '1',
    target_link_uri: TARGET,
    login_hint: 'user-7',
    lti_message_hint: '{"k":"a b+c/é"}'
  }
  return { app, platform, params }
}

for (const method of ['GET', 'POST'] as const) {
  t.test(`${method}: 302 to the platform with the exact authentication request`, async t => {
    const { app, platform, params } = await setup(t)
    const res = method === 'GET'
      ? await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(params)}` })
      : await app.inject({ method: 'POST', url: '/lti/1.3/login', payload: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.equal(res.statusCode, 302)
    const location = new URL(String(res.headers.location))
    t.equal(location.origin + location.pathname, platform.authLoginUrl)
    const q = Object.fromEntries(location.searchParams)
    t.same(Object.keys(q).sort(), ['client_id', 'login_hint', 'lti_message_hint', 'nonce', 'prompt', 'redirect_uri', 'response_mode', 'response_type', 'scope', 'state', 'tenant'])
    t.equal(q.tenant, 'a+b', 'the endpoint\'s own query is kept')
    t.equal(q.scope, 'openid')
    t.equal(q.response_type, 'id_token')
    t.equal(q.response_mode, 'form_post')
    t.equal(q.prompt, 'none')
    t.equal(q.client_id, platform.clientId)
    t.equal(q.redirect_uri, `${PUBLIC_URL}/lti/1.3/launch`, 'the registered redirect_uri, from PUBLIC_URL')
    t.equal(q.login_hint, 'user-7')
    t.equal(q.lti_message_hint, params.lti_message_hint, 'echoed byte for byte')
    t.match(q.nonce, /^[A-Za-z0-9_-]{43}$/, '256-bit nonce')

    // Headers: nothing cached, no Referer leaking the hint and state.
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['referrer-policy'], 'no-referrer')

    const setCookie = String(res.headers['set-cookie'])
    const [pair, ...attributes] = setCookie.split('; ')
    const [name, binding] = (pair as string).split('=') as [string, string]
    t.match(name, /^__Host-lti13_[A-Za-z0-9_-]{43}$/)
    t.match(binding, /^[A-Za-z0-9_-]{43}$/)
    t.same(attributes.sort(), ['HttpOnly', 'Max-Age=300', 'Partitioned', 'Path=/', 'SameSite=None', 'Secure'], 'no Domain: __Host- rules')

    // The state token names only a state id; nonce and binding stay on the server (binding hashed).
    const claims = decodeJwt(q.state as string)
    t.same(Object.keys(claims).sort(), ['aud', 'exp', 'iat', 'sid'])
    t.equal(name, `__Host-lti13_${claims.sid as string}`, 'cookie named after the state id')
    const row = await app.knex('oidc_states').first()
    t.equal(row.state_id, claims.sid)
    t.equal(row.nonce, q.nonce)
    t.equal(row.binding_hash, createHash('sha256').update(binding).digest('base64url'), 'only the binding hash is stored')
    t.equal(row.target_link_uri, TARGET)
    t.ok(Math.abs(Number(row.expires_at) - (Date.now() + 300_000)) < 5000, 'expires after LTI13_STATE_TTL')
  })
}

t.test('lti_storage_target: a storage page that keeps the binding with the platform, then goes on', async t => {
  const { app, platform, params } = await setup(t)
  const res = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams({ ...params, lti_storage_target: 'post_message_forwarding' })}` })
  t.equal(res.statusCode, 200)
  t.match(String(res.headers['content-type']), /text\/html/)
  t.equal(res.headers['cache-control'], 'no-store')
  const binding = String(res.headers['set-cookie']).split(';')[0]?.split('=')[1]
  const config = JSON.parse(/id="lti-storage-config">([^<]*)</.exec(res.body)?.[1] as string)
  t.equal(config.frame, 'post_message_forwarding')
  t.equal(config.targetOrigin, platform.issuer)
  t.equal(config.postOrigin, platform.issuer, 'never "*" unless a registration opts in')
  t.equal(config.entries[0].value, binding, 'the same binding as the cookie')
  t.match(config.entries[0].key, /^lti13_binding_/)
  const state = decodeJwt(/name="state" value="([^"]*)"/.exec(res.body)?.[1] as string)
  t.equal(state.st, 'post_message_forwarding', 'the state remembers where storage is')
  t.equal(state.po, platform.issuer)
})
