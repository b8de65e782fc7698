import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, adminHeaders } from '../../helpers/build-app.js'

const url = '/admin/api/v1/lti13/registrations'

const platform = {
  name: 'Canvas',
  issuer: 'https://canvas.instructure.com',
  clientId: '10000000000042',
  authLoginUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
  authTokenUrl: 'https://sso.canvaslms.com/login/oauth2/token',
  jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks'
}

async function snapshot (app: FastifyInstance): Promise<unknown> {
  return {
    registrations: await app.knex('lti13_registrations').select('*').orderBy('id'),
    deployments: await app.knex('lti13_deployments').select('*').orderBy('id')
  }
}

t.test('create, list, show, change and delete a registration with deployments', async t => {
  const { app } = await buildTestApp(t, { PUBLIC_URL: 'https://lti.example.org/' })

  const created = await app.inject({
    method: 'POST', url, headers: adminHeaders,
    payload: { ...platform, deploymentIds: ['1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb', 'dep/2'], contentScope: ['course-v1:MITx+*'], allowedAlgorithms: ['RS256', 'ES256'], allowedHosts: ['*.instructure.com'] }
  })
  t.equal(created.statusCode, 201)
  const reg = created.json()
  t.match(reg, {
    id: Number, ...platform, authTokenAudience: null, deploymentPolicy: 'strict', contentScope: ['course-v1:MITx+*'],
    usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256', 'ES256'], allowedHosts: ['*.instructure.com'],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true
  })
  t.same(reg.deployments.map((d: { deploymentId: string, source: string }) => [d.deploymentId, d.source]),
    [['1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb', 'admin'], ['dep/2', 'admin']])
  t.same(reg.tool, {
    loginUrl: 'https://lti.example.org/lti/1.3/login',
    redirectUri: 'https://lti.example.org/lti/1.3/launch',
    jwksUrl: 'https://lti.example.org/lti/1.3/jwks',
    targetLinkUriTemplate: 'https://lti.example.org/lti/1.3/courses/{course_id}/{usage_id}',
    deepLinkingUrl: 'https://lti.example.org/lti/1.3/deep-linking/launch'
  })

  const list = await app.inject({ method: 'GET', url, headers: adminHeaders })
  t.equal(list.statusCode, 200)
  t.same(list.json().registrations, [reg])
  t.same((await app.inject({ method: 'GET', url: `${url}/${reg.id}`, headers: adminHeaders })).json(), reg)

  const patched = await app.inject({
    method: 'PATCH', url: `${url}/${reg.id}`, headers: adminHeaders,
    payload: { deploymentPolicy: 'record', authTokenAudience: 'https://canvas.instructure.com/login/oauth2/token', tokenMaxAge: 120, active: false }
  })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { deploymentPolicy: 'record', authTokenAudience: 'https://canvas.instructure.com/login/oauth2/token', tokenMaxAge: 120, active: false, issuer: platform.issuer })
  t.equal(patched.json().deployments.length, 2)

  // Deployments: add, duplicate, remove (ids are percent-encoded in the path).
  const added = await app.inject({ method: 'POST', url: `${url}/${reg.id}/deployments`, headers: adminHeaders, payload: { deploymentId: '3' } })
  t.equal(added.statusCode, 201)
  t.match(added.json(), { deploymentId: '3', source: 'admin', createdAt: String })
  const again = await app.inject({ method: 'POST', url: `${url}/${reg.id}/deployments`, headers: adminHeaders, payload: { deploymentId: '3' } })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'ADMIN_DUPLICATE_DEPLOYMENT')
  const gone = await app.inject({ method: 'DELETE', url: `${url}/${reg.id}/deployments/${encodeURIComponent('dep/2')}`, headers: adminHeaders })
  t.equal(gone.statusCode, 204)
  const missing = await app.inject({ method: 'DELETE', url: `${url}/${reg.id}/deployments/${encodeURIComponent('dep/2')}`, headers: adminHeaders })
  t.equal(missing.statusCode, 404)
  t.match(missing.json(), { code: 'ADMIN_NOT_FOUND', details: { resource: 'deployment' } })
  const now = (await app.inject({ method: 'GET', url: `${url}/${reg.id}`, headers: adminHeaders })).json()
  t.same(now.deployments.map((d: { deploymentId: string }) => d.deploymentId), ['1:8865aa05b4b79b64a91a86042e43af5ea8ae79eb', '3'])

  const removed = await app.inject({ method: 'DELETE', url: `${url}/${reg.id}`, headers: adminHeaders })
  t.equal(removed.statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: `${url}/${reg.id}`, headers: adminHeaders })).statusCode, 404)
  t.same(await snapshot(app), { registrations: [], deployments: [] }, 'deployments went with the registration')
})

t.test('platform URLs must be https; http only for loopback when allowed', async t => {
  const strict = await buildTestApp(t, { OUTBOUND_ALLOW_LOOPBACK_HTTP: 'false' })
  const loose = await buildTestApp(t, { OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true' })
  const cases: Array<[string, Record<string, string>, number, number]> = [
    ['http loopback jwks', { jwksUrl: 'http://127.0.0.1:8080/jwks' }, 400, 201],
    ['http localhost login', { authLoginUrl: 'http://localhost:9001/auth' }, 400, 201],
    ['http IPv6 loopback token', { authTokenUrl: 'http://[::1]:9001/token' }, 400, 201],
    ['http public host', { jwksUrl: 'http://canvas.example.edu/jwks' }, 400, 400],
    ['http issuer on a public host', { issuer: 'http://canvas.example.edu' }, 400, 400],
    ['relative URL', { jwksUrl: '/jwks' }, 400, 400],
    ['other scheme', { jwksUrl: 'ftp://canvas.example.edu/jwks' }, 400, 400],
    ['credentials', { jwksUrl: 'https://user:pw@canvas.example.edu/jwks' }, 400, 400],
    ['fragment', { authLoginUrl: 'https://canvas.example.edu/auth#x' }, 400, 400],
    ['space inside', { authLoginUrl: 'https://canvas.example.edu/a b' }, 400, 400]
  ]
  let n = 0
  for (const [label, change, strictStatus, looseStatus] of cases) {
    for (const [{ app }, status] of [[strict, strictStatus], [loose, looseStatus]] as const) {
      const res = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, clientId: `c${n++}`, ...change } })
      t.equal(res.statusCode, status, `${label} → ${status}`)
      if (status === 400) {
        t.equal(res.json().code, 'ADMIN_INVALID_FIELDS')
        t.same(res.json().details.fields.map((f: { field: string }) => f.field), Object.keys(change))
      }
    }
  }
})

t.test('invalid input: 400 with field errors, database unchanged', async t => {
  const { app } = await buildTestApp(t)
  const first = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, deploymentIds: ['1'] } })
  t.equal(first.statusCode, 201)
  const id = first.json().id
  const before = await snapshot(app)
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['unknown field', { ...platform, clientId: 'x', privateKey: 'pem' }, 'privateKey'],
    ['missing jwksUrl', { ...platform, clientId: 'x', jwksUrl: undefined }, 'jwksUrl'],
    ['deployment ids not a list', { ...platform, clientId: 'x', deploymentIds: '1' }, 'deploymentIds'],
    ['duplicate deployment ids', { ...platform, clientId: 'x', deploymentIds: ['1', '1'] }, 'deploymentIds'],
    ['bad policy', { ...platform, clientId: 'x', deploymentPolicy: 'open' }, 'deploymentPolicy'],
    ['symmetric algorithm', { ...platform, clientId: 'x', allowedAlgorithms: ['HS256'] }, 'allowedAlgorithms.0'],
    ['no algorithm', { ...platform, clientId: 'x', allowedAlgorithms: [] }, 'allowedAlgorithms'],
    ['token age as a string', { ...platform, clientId: 'x', tokenMaxAge: '300' }, 'tokenMaxAge'],
    ['consumer id as a string', { ...platform, clientId: 'x', lti11ConsumerId: '1' }, 'lti11ConsumerId'],
    ['unknown consumer', { ...platform, clientId: 'x', lti11ConsumerId: 4242 }, 'lti11ConsumerId'],
    ['bad host pattern', { ...platform, clientId: 'x', allowedHosts: ['https://x.example'] }, 'allowedHosts.0'],
    ['bad scope', { ...platform, clientId: 'x', contentScope: ['course-v1:MITx+*', 'a b'] }, 'contentScope.1']
  ]
  for (const [label, payload, field] of cases) {
    const res = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: JSON.parse(JSON.stringify(payload)) })
    t.equal(res.statusCode, 400, label)
    t.ok(res.json().details.fields.some((f: { field: string }) => f.field === field), `${label} names ${field}: ${res.body}`)
  }
  const patchCases: Array<[string, Record<string, unknown>, string]> = [
    ['deployments are not patched', { deploymentIds: ['2'] }, 'deploymentIds'],
    ['wrong type', { allowAnonymous: 'yes' }, 'allowAnonymous'],
    ['bad URL', { jwksUrl: 'http://example.com/jwks' }, 'jwksUrl']
  ]
  for (const [label, payload, field] of patchCases) {
    const res = await app.inject({ method: 'PATCH', url: `${url}/${id}`, headers: adminHeaders, payload })
    t.equal(res.statusCode, 400, `PATCH ${label}`)
    t.ok(res.json().details.fields.some((f: { field: string }) => f.field === field), `PATCH ${label} names ${field}`)
  }
  const badDeployment = await app.inject({ method: 'POST', url: `${url}/${id}/deployments`, headers: adminHeaders, payload: { deploymentId: 7 } })
  t.equal(badDeployment.statusCode, 400)
  const extra = await app.inject({ method: 'POST', url: `${url}/${id}/deployments`, headers: adminHeaders, payload: { deploymentId: '7', source: 'recorded' } })
  t.equal(extra.statusCode, 400)
  t.same(await snapshot(app), before)
})

t.test('duplicates are 409, unknown ids 404, and nothing changes', async t => {
  const { app } = await buildTestApp(t)
  const a = (await app.inject({ method: 'POST', url, headers: adminHeaders, payload: platform })).json()
  const b = (await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, clientId: 'other' } })).json()
  const before = await snapshot(app)

  const dup = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, name: 'again', deploymentIds: ['9'] } })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().code, 'ADMIN_DUPLICATE_REGISTRATION')
  const dupPatch = await app.inject({ method: 'PATCH', url: `${url}/${b.id}`, headers: adminHeaders, payload: { clientId: platform.clientId } })
  t.equal(dupPatch.statusCode, 409)
  t.equal(dupPatch.json().code, 'ADMIN_DUPLICATE_REGISTRATION')

  for (const [method, path, payload] of [
    ['GET', `${url}/99999`, undefined], ['PATCH', `${url}/99999`, { name: 'x' }], ['DELETE', `${url}/99999`, undefined],
    ['POST', `${url}/99999/deployments`, { deploymentId: '1' }], ['DELETE', `${url}/99999/deployments/1`, undefined]
  ] as const) {
    const res = await app.inject({ method, url: path, headers: adminHeaders, ...(payload ? { payload } : {}) })
    t.equal(res.statusCode, 404, `${method} ${path}`)
    t.match(res.json(), { code: 'ADMIN_NOT_FOUND', details: { resource: 'registration' } })
  }
  t.same(await snapshot(app), before)
  t.not(a.id, b.id)
})

t.test('the migration link to an LTI 1.1 consumer', async t => {
  const { app } = await buildTestApp(t)
  const consumer = (await app.inject({ method: 'POST', url: '/admin/api/v1/lti11/consumers', headers: adminHeaders, payload: { name: 'old', key: 'old', secret: 'a-long-enough-secret' } })).json()
  const reg = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, lti11ConsumerId: consumer.id } })
  t.equal(reg.statusCode, 201)
  t.equal(reg.json().lti11ConsumerId, consumer.id)
  const cleared = await app.inject({ method: 'PATCH', url: `${url}/${reg.json().id}`, headers: adminHeaders, payload: { lti11ConsumerId: null } })
  t.equal(cleared.json().lti11ConsumerId, null)
  await app.inject({ method: 'PATCH', url: `${url}/${reg.json().id}`, headers: adminHeaders, payload: { lti11ConsumerId: consumer.id } })
  // Removing the consumer keeps the registration and drops the link (ON DELETE SET NULL).
  t.equal((await app.inject({ method: 'DELETE', url: `/admin/api/v1/lti11/consumers/${consumer.id}`, headers: adminHeaders })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: `${url}/${reg.json().id}`, headers: adminHeaders })).json().lti11ConsumerId, null)
})

t.test('a registration and its deployments are written in one transaction', async t => {
  const { app, db } = await buildTestApp(t)
  // A trigger makes the second deployment insert fail after the registration row was written.
  if (db.backend === 'sqlite') {
    await db.knex.raw("CREATE TRIGGER fail_deployment BEFORE INSERT ON lti13_deployments WHEN NEW.deployment_id = 'boom' BEGIN SELECT RAISE(ABORT, 'injected failure'); END")
  } else {
    await db.knex.raw("CREATE TRIGGER fail_deployment BEFORE INSERT ON lti13_deployments FOR EACH ROW BEGIN IF NEW.deployment_id = 'boom' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'; END IF; END")
  }
  const before = await snapshot(app)
  const res = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, deploymentIds: ['ok-1', 'boom'] } })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'INTERNAL_ERROR')
  t.same(await snapshot(app), before, 'neither the registration nor the first deployment remains')

  const fine = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { ...platform, deploymentIds: ['ok-1'] } })
  t.equal(fine.statusCode, 201, 'the same registration can then be created')
})
