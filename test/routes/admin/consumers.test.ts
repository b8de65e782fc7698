import t from 'tap'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { buildServer, serverOptions } from '../../../src/server.js'
import { createSecretBox } from '../../../src/crypto/secret-box.js'
import { buildTestApp, adminHeaders, testConfig } from '../../helpers/build-app.js'
import { createTestDb } from '../../helpers/db.js'

const url = '/admin/api/v1/lti11/consumers'
const SECRET = 'S3cret-value-never-shown-7f1c2a'
const NEW_SECRET = 'Another-secret-value-9b8e4d'

async function snapshot (app: FastifyInstance): Promise<unknown> {
  return {
    consumers: await app.knex('lti11_consumers').select('*').orderBy('id'),
    registrations: await app.knex('lti13_registrations').select('*').orderBy('id')
  }
}

t.test('create, list, show, change and delete a consumer', async t => {
  const { app, config } = await buildTestApp(t)

  const created = await app.inject({
    method: 'POST', url, headers: adminHeaders,
    payload: { name: 'Canvas at Example U', key: 'example-u', secret: SECRET, instanceGuid: 'guid-1', contentScope: ['course-v1:MITx+*'], usePii: true, outcomeHosts: ['Canvas.Example.EDU', '*.example.edu'] }
  })
  t.equal(created.statusCode, 201)
  const body = created.json()
  t.match(body, {
    id: Number, name: 'Canvas at Example U', key: 'example-u', hasSecret: true, instanceGuid: 'guid-1',
    contentScope: ['course-v1:MITx+*'], usePii: true, requireUserAccount: false,
    outcomeHosts: ['canvas.example.edu', '*.example.edu'], pinOutcomeHost: true,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: config.LTI11_TIMESTAMP_WINDOW, active: true
  })
  t.match(body.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
  t.notOk('secret' in body)

  // The stored secret is sealed under the context the launch code uses.
  const row = await app.knex('lti11_consumers').where({ id: body.id }).first()
  t.notMatch(row.secret_enc, SECRET)
  const box = createSecretBox(config.secretKey)
  t.equal(box.open(row.secret_enc, 'lti11_consumers.secret'), SECRET)
  t.throws(() => box.open(row.secret_enc, 'tool_keys.private_key'), { code: 'SECRET_UNREADABLE' })

  const list = await app.inject({ method: 'GET', url, headers: adminHeaders })
  t.equal(list.statusCode, 200)
  t.same(list.json().consumers.map((c: { id: number }) => c.id), [body.id])

  const one = await app.inject({ method: 'GET', url: `${url}/${body.id}`, headers: adminHeaders })
  t.same(one.json(), body)

  const patched = await app.inject({
    method: 'PATCH', url: `${url}/${body.id}`, headers: adminHeaders,
    payload: { name: 'Renamed', secret: NEW_SECRET, signatureMethods: ['HMAC-SHA256'], timestampWindow: 60, instanceGuid: null, active: false }
  })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), { id: body.id, name: 'Renamed', key: 'example-u', instanceGuid: null, signatureMethods: ['HMAC-SHA1', 'HMAC-SHA256'], timestampWindow: 60, active: false, contentScope: ['course-v1:MITx+*'], usePii: true })
  const after = await app.knex('lti11_consumers').where({ id: body.id }).first()
  t.equal(box.open(after.secret_enc, 'lti11_consumers.secret'), NEW_SECRET)

  const removed = await app.inject({ method: 'DELETE', url: `${url}/${body.id}`, headers: adminHeaders })
  t.equal(removed.statusCode, 204)
  t.equal(removed.body, '')
  t.equal((await app.inject({ method: 'GET', url: `${url}/${body.id}`, headers: adminHeaders })).statusCode, 404)
  t.same((await app.inject({ method: 'GET', url, headers: adminHeaders })).json(), { consumers: [] })
})

t.test('invalid input: 400 with field errors, and the database is unchanged', async t => {
  const { app } = await buildTestApp(t)
  const base = { name: 'A', key: 'k', secret: SECRET }
  const first = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: base })
  t.equal(first.statusCode, 201)
  const id = first.json().id
  const before = await snapshot(app)

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['unknown field', { ...base, key: 'k2', isAdmin: true }, 'isAdmin'],
    ['missing secret', { name: 'A', key: 'k2' }, 'secret'],
    ['secret as a number', { ...base, key: 'k2', secret: 12345 }, 'secret'],
    ['boolean as a string', { ...base, key: 'k2', usePii: 'true' }, 'usePii'],
    ['window as a string', { ...base, key: 'k2', timestampWindow: '300' }, 'timestampWindow'],
    ['window too small', { ...base, key: 'k2', timestampWindow: 5 }, 'timestampWindow'],
    ['window too large', { ...base, key: 'k2', timestampWindow: 7200 }, 'timestampWindow'],
    ['unknown signature method', { ...base, key: 'k2', signatureMethods: ['PLAINTEXT'] }, 'signatureMethods.0'],
    ['scope not a list', { ...base, key: 'k2', contentScope: 'course-v1:MITx+*' }, 'contentScope'],
    ['empty key', { ...base, key: '' }, 'key'],
    ['key with spaces around', { ...base, key: ' k2 ' }, 'key'],
    ['bad scope pattern', { ...base, key: 'k2', contentScope: ['course-v1:MITx+*', 'DROP TABLE x'] }, 'contentScope.1'],
    ['legacy scope pattern', { ...base, key: 'k2', contentScope: ['MITx/6.002x/2012'] }, 'contentScope.0'],
    ['outcome host with scheme', { ...base, key: 'k2', outcomeHosts: ['https://canvas.example.edu'] }, 'outcomeHosts.0'],
    ['outcome host wildcard only', { ...base, key: 'k2', outcomeHosts: ['*'] }, 'outcomeHosts.0']
  ]
  for (const [label, payload, field] of cases) {
    const res = await app.inject({ method: 'POST', url, headers: adminHeaders, payload })
    t.equal(res.statusCode, 400, label)
    const json = res.json()
    t.ok(['VALIDATION_FAILED', 'ADMIN_INVALID_FIELDS'].includes(json.code), `${label}: ${json.code}`)
    t.ok(json.details.fields.some((f: { field: string }) => f.field === field), `${label} names ${field}: ${JSON.stringify(json.details.fields)}`)
    t.notMatch(res.body, SECRET)
  }

  const patchCases: Array<[string, Record<string, unknown>, string]> = [
    ['unknown field', { secretHash: 'x' }, 'secretHash'],
    ['wrong type', { active: 1 }, 'active'],
    ['null name', { name: null }, 'name']
  ]
  for (const [label, payload, field] of patchCases) {
    const res = await app.inject({ method: 'PATCH', url: `${url}/${id}`, headers: adminHeaders, payload })
    t.equal(res.statusCode, 400, `PATCH ${label}`)
    t.ok(res.json().details.fields.some((f: { field: string }) => f.field === field), `PATCH ${label} names ${field}`)
  }
  const empty = await app.inject({ method: 'PATCH', url: `${url}/${id}`, headers: adminHeaders, payload: {} })
  t.equal(empty.statusCode, 400, 'an empty PATCH changes nothing and says so')

  const badId = await app.inject({ method: 'GET', url: `${url}/abc`, headers: adminHeaders })
  t.equal(badId.statusCode, 400)
  t.equal(badId.json().code, 'VALIDATION_FAILED')

  t.same(await snapshot(app), before)
})

t.test('duplicate key is 409, unknown id is 404, neither changes anything', async t => {
  const { app } = await buildTestApp(t)
  const a = (await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { name: 'A', key: 'key-a', secret: SECRET } })).json()
  const b = (await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { name: 'B', key: 'key-b', secret: SECRET } })).json()
  const before = await snapshot(app)

  const dup = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { name: 'C', key: 'key-a', secret: NEW_SECRET } })
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().code, 'ADMIN_DUPLICATE_CONSUMER_KEY')
  t.notMatch(dup.body, NEW_SECRET)

  const dupPatch = await app.inject({ method: 'PATCH', url: `${url}/${b.id}`, headers: adminHeaders, payload: { key: 'key-a', secret: NEW_SECRET } })
  t.equal(dupPatch.statusCode, 409)
  t.equal(dupPatch.json().code, 'ADMIN_DUPLICATE_CONSUMER_KEY')

  for (const [method, payload] of [['GET', undefined], ['PATCH', { name: 'x' }], ['DELETE', undefined]] as const) {
    const res = await app.inject({ method, url: `${url}/999999`, headers: adminHeaders, ...(payload ? { payload } : {}) })
    t.equal(res.statusCode, 404, `${method} unknown id`)
    t.match(res.json(), { code: 'ADMIN_NOT_FOUND', details: { resource: 'consumer', id: '999999' } })
  }

  t.same(await snapshot(app), before)
  t.equal(a.key, 'key-a')
})

t.test('the secret never appears in responses or logs', async t => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } })
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'trace' })
  const base = serverOptions(config).logger as Record<string, unknown>
  const app = await buildServer(config, { knex: db.knex, fastify: { logger: { ...base, level: 'trace', stream } } })
  await app.ready()
  t.teardown(() => app.close())

  const bodies: string[] = []
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, payload?: unknown) => {
    const res = await app.inject({ method, url: path, headers: adminHeaders, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
    bodies.push(res.body)
    return res
  }
  const created = await call('POST', url, { name: 'A', key: 'k', secret: SECRET })
  const id = created.json().id
  await call('GET', url)
  await call('GET', `${url}/${id}`)
  await call('PATCH', `${url}/${id}`, { secret: NEW_SECRET })
  await call('POST', url, { name: 'A', key: 'k', secret: SECRET }) // 409
  await call('POST', url, { name: 'A', key: 'k2', secret: SECRET, unknown: SECRET }) // 400
  await call('POST', url, { name: 'A', key: 'k3', secret: 42, note: NEW_SECRET }) // 400
  await call('PATCH', `${url}/${id}`, { secret: NEW_SECRET, contentScope: ['no spaces allowed'] }) // 400 from the service
  await call('DELETE', `${url}/${id}`)

  const log = lines.join('')
  t.match(log, /admin_consumer_created/, 'the log was captured')
  t.match(log, /admin_consumer_updated/)
  t.match(log, /ADMIN_DUPLICATE_CONSUMER_KEY/)
  for (const text of [log, ...bodies]) {
    t.notMatch(text, SECRET)
    t.notMatch(text, NEW_SECRET)
  }
  t.notMatch(log, config.ADMIN_TOKEN as string)
})

t.test('registration-time checks: short secrets refused, an empty content scope allowed with a warning, non-JSON bodies 415', async t => {
  const { app } = await buildTestApp(t)
  const short = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { name: 'A', key: 'k', secret: '15-characters!!' } })
  t.equal(short.statusCode, 400)
  t.equal(short.json().code, 'ADMIN_INVALID_FIELDS')
  t.match(short.json().details.fields, [{ field: 'secret', message: /at least 16/ }])
  t.notMatch(short.body, /15-characters/, 'the secret is not echoed')
  const empty = await app.inject({ method: 'POST', url, headers: adminHeaders, payload: { name: 'A', key: 'k', secret: '16-characters!!!' } })
  t.equal(empty.statusCode, 201)
  t.match(empty.json().warnings, [/contentScope is empty/], 'empty content scope: saved, with a warning')
  const scoped = await app.inject({ method: 'PATCH', url: `${url}/${empty.json().id}`, headers: adminHeaders, payload: { contentScope: ['course-v1:MITx+*'] } })
  t.notOk(scoped.json().warnings, 'no warning once a scope is set')
  const form = await app.inject({ method: 'POST', url, headers: { ...adminHeaders, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=A&key=k2&secret=0123456789abcdefgh' })
  t.equal(form.statusCode, 415)
  t.equal(form.json().code, 'UNSUPPORTED_MEDIA_TYPE')
  const text = await app.inject({ method: 'PATCH', url: `${url}/${empty.json().id}`, headers: { ...adminHeaders, 'content-type': 'text/plain' }, payload: '{"name":"B"}' })
  t.equal(text.statusCode, 415)
})
