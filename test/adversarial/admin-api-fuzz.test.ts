/**
 * Property-based hostile input against the admin API (/admin/api/v1, with the right bearer token):
 * create and patch bodies for LTI 1.1 consumers and LTI 1.3 registrations with wrong types, unknown
 * fields, oversized strings, deep nesting (10,000 levels), prototype-pollution keys, invalid UTF-8
 * and duplicated JSON keys; hostile path ids. Every one is refused (400 VALIDATION_FAILED or
 * ADMIN_INVALID_FIELDS, 400 BAD_REQUEST for unparseable JSON, 404, 413), no row is created or
 * changed, no secret comes back, and Object.prototype is never polluted.
 *
 * The fixed validation cases are in test/routes/admin/consumers.test.ts and registrations.test.ts.
 */
import t from 'tap'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, adminHeaders, TEST_ADMIN_TOKEN } from '../helpers/build-app.js'
import { createTally, notRefusal, type InjectAnswer } from '../support/hostile-input.js'

const API = '/admin/api/v1'
const SECRET = 'Consumer-secret-never-echoed-4b1d'
const SECRETS = [SECRET, TEST_ADMIN_TOKEN]
const tally = createTally()

const CONSUMER = { name: 'Canvas', key: 'canvas-key', secret: SECRET, contentScope: ['course-v1:MITx+*'], outcomeHosts: ['canvas.example.edu'], timestampWindow: 300, usePii: false }
const REGISTRATION = {
  name: 'Platform', issuer: 'https://platform.example.edu', clientId: 'client-1', authLoginUrl: 'https://platform.example.edu/auth',
  authTokenUrl: 'https://platform.example.edu/token', jwksUrl: 'https://platform.example.edu/jwks', deploymentIds: ['1'], tokenMaxAge: 300
}
/** Field → a value of the wrong JSON type for it (or out of its bounds). */
const TYPES: Record<string, 'string' | 'boolean' | 'integer' | 'array'> = {
  name: 'string', key: 'string', secret: 'string', issuer: 'string', clientId: 'string', authLoginUrl: 'string', authTokenUrl: 'string', jwksUrl: 'string',
  contentScope: 'array', outcomeHosts: 'array', allowedHosts: 'array', deploymentIds: 'array', allowedAlgorithms: 'array', signatureMethods: 'array',
  usePii: 'boolean', active: 'boolean', requireUserAccount: 'boolean', allowAnonymous: 'boolean', timestampWindow: 'integer', tokenMaxAge: 'integer'
}
// Prototype keys are refused earlier, by the JSON parser (400 BAD_REQUEST): the second property covers them.
const PROTO_KEY = /"(__proto__|constructor|prototype)"/
const ANY = fc.oneof(fc.jsonValue({ maxDepth: 3 }).filter(v => !PROTO_KEY.test(JSON.stringify(v))), fc.constantFrom(null, 1.5, -1, 1e308, '', [], {}, [null], { $ne: 1 }, { $gt: '' }))
const wrongFor = (type: string): fc.Arbitrary<unknown> => ANY.filter(v =>
  type === 'string' ? typeof v !== 'string' : type === 'boolean' ? typeof v !== 'boolean' : type === 'integer' ? !Number.isInteger(v) : !Array.isArray(v))

t.test('admin API under hostile input', async t => {
  const { app } = await buildTestApp(t, { RATE_LIMIT_ENABLED: 'false' })
  const consumer = await app.inject({ method: 'POST', url: `${API}/lti11/consumers`, headers: adminHeaders, payload: CONSUMER })
  const registration = await app.inject({ method: 'POST', url: `${API}/lti13/registrations`, headers: adminHeaders, payload: REGISTRATION })
  t.equal(consumer.statusCode, 201)
  t.equal(registration.statusCode, 201)
  const ids = { consumers: consumer.json().id as number, registrations: registration.json().id as number }
  const snapshot = async (): Promise<string> => JSON.stringify({
    consumers: await app.knex('lti11_consumers').select('*').orderBy('id'),
    registrations: await app.knex('lti13_registrations').select('*').orderBy('id'),
    deployments: await app.knex('lti13_deployments').select('*').orderBy('id')
  })
  const baseline = await snapshot()

  async function send (method: string, url: string, payload: unknown, raw = false): Promise<InjectAnswer> {
    tally.add()
    return await app.inject({
      method: method as 'POST',
      url,
      headers: { ...adminHeaders, 'content-type': 'application/json' },
      payload: raw ? payload as string | Buffer : JSON.stringify(payload)
    })
  }
  /** Sends, and says why the answer is not the expected refusal or why the database moved. */
  async function refused (method: string, url: string, payload: unknown, expected: Parameters<typeof notRefusal>[1], raw = false): Promise<string | undefined> {
    const res = await send(method, url, payload, raw)
    const failure = notRefusal(res, expected, SECRETS)
    if (failure !== undefined) return failure
    const now = await snapshot()
    return now === baseline ? undefined : `rows created or changed (${res.statusCode}): ${now.slice(0, 1500)} vs ${baseline.slice(0, 1500)}`
  }
  const VALIDATION = { status: 400, code: ['VALIDATION_FAILED', 'ADMIN_INVALID_FIELDS'] } as const
  const targets = [
    { method: 'POST', url: `${API}/lti11/consumers`, base: CONSUMER, fields: ['name', 'key', 'secret', 'contentScope', 'outcomeHosts', 'usePii', 'requireUserAccount', 'timestampWindow', 'signatureMethods', 'active'] },
    { method: 'PATCH', url: `${API}/lti11/consumers/${ids.consumers}`, base: {}, fields: ['name', 'key', 'secret', 'contentScope', 'outcomeHosts', 'usePii', 'timestampWindow', 'active'] },
    { method: 'POST', url: `${API}/lti13/registrations`, base: { ...REGISTRATION, clientId: 'client-2' }, fields: ['name', 'issuer', 'clientId', 'authLoginUrl', 'authTokenUrl', 'jwksUrl', 'contentScope', 'allowedHosts', 'deploymentIds', 'allowedAlgorithms', 'tokenMaxAge', 'allowAnonymous'] },
    { method: 'PATCH', url: `${API}/lti13/registrations/${ids.registrations}`, base: {}, fields: ['name', 'authLoginUrl', 'jwksUrl', 'contentScope', 'allowedHosts', 'allowedAlgorithms', 'tokenMaxAge', 'active'] }
  ] as const
  const target = fc.constantFrom(...targets)

  await t.test('wrong types, unknown fields and oversized strings: 400 with field errors, nothing changed', async t => {
    const breakage = target.chain(tg => fc.tuple(fc.constant(tg), fc.array(fc.oneof(
      fc.constantFrom(...tg.fields).chain(f => fc.tuple(fc.constant(f), wrongFor(TYPES[f] as string))),
      fc.tuple(fc.string({ minLength: 1, maxLength: 20 }).filter(k => !(k in TYPES) && !PROTO_KEY.test(JSON.stringify(k)) && !['instanceGuid', 'pinOutcomeHost', 'authTokenAudience', 'deploymentPolicy', 'lti11ConsumerId'].includes(k)), ANY),
      fc.tuple(fc.constantFrom(...tg.fields.filter(f => TYPES[f] === 'string')), fc.integer({ min: 2049, max: 20_000 }).map(n => 'x'.repeat(n)))
    ), { minLength: 1, maxLength: 4 })))
    await fc.assert(fc.asyncProperty(breakage, async ([tg, changes]) => {
      const body: Record<string, unknown> = { ...tg.base }
      for (const [field, value] of changes) body[field] = value
      const failure = await refused(tg.method, tg.url, body, VALIDATION)
      if (failure !== undefined) throw new Error(`${tg.method} ${tg.url} ${JSON.stringify(body).slice(0, 300)}: ${failure}`)
    }), { numRuns: 250 })
    t.pass('250 invalid bodies refused')
  })

  await t.test('deep nesting, prototype pollution keys, duplicated keys, invalid UTF-8, non-JSON: refused, nothing changed, no pollution', async t => {
    const nestedIn = (depth: number, leaf: string, open: string, close: string): string => open.repeat(depth) + leaf + close.repeat(depth)
    const hostileBody = target.chain(tg => fc.tuple(fc.constant(tg), fc.oneof(
      fc.integer({ min: 100, max: 10_000 }).map(n => ({ why: `nested ${n}`, body: JSON.stringify(tg.base).replace(/}$/, `,"name":${nestedIn(n, '1', '{"a":', '}')}}`).replace(/^\{,/, '{') })),
      fc.integer({ min: 100, max: 10_000 }).map(n => ({ why: `array ${n}`, body: JSON.stringify(tg.base).replace(/}$/, `,"contentScope":${nestedIn(n, '"x"', '[', ']')}}`).replace(/^\{,/, '{') })),
      fc.constantFrom('"__proto__":{"polluted":true}', '"constructor":{"prototype":{"polluted":true}}', '"__proto__":{"isAdmin":true,"active":true}', '"name":{"__proto__":{"polluted":1}}')
        .map(key => ({ why: key, body: JSON.stringify(tg.base).replace(/}$/, `,${key}}`).replace(/^\{,/, '{') })),
      // Duplicated key: JSON.parse keeps the last; the last is invalid, so the body must be refused.
      fc.constantFrom(...tg.fields).map(f => ({ why: `duplicate ${f}`, body: JSON.stringify(tg.base).replace(/^\{/, `{"${f}":${JSON.stringify((tg.base as Record<string, unknown>)[f] ?? 'ok')},`).replace(/}$/, `,"${f}":{"$bad":true}}`).replace(/,,/, ',').replace(/^\{"([^"]+)":([^,]*),}$/, '{"$1":$2}') })),
      fc.constantFrom('{', '[', '{"name":', 'null', '1', '"x"', '[]', 'true', '{"a":1}{"b":2}', '\u0000', '{"name":"a"\u0000}', '{"name":"\\ud800"}', "{'name':'a'}", 'NaN').map(body => ({ why: 'not a JSON object', body }))
    )))
    await fc.assert(fc.asyncProperty(hostileBody, async ([tg, { why, body }]) => {
      const failure = await refused(tg.method, tg.url, body, { status: [400, 413], code: ['VALIDATION_FAILED', 'ADMIN_INVALID_FIELDS', 'BAD_REQUEST', 'BODY_TOO_LARGE'] }, true)
      if (failure !== undefined) throw new Error(`${tg.method} ${tg.url} ${why}: ${failure}`)
    }), { numRuns: 200 })
    // Invalid UTF-8 bytes in an ASCII-only field (key) and in one that takes any text (clientId).
    const badBytes = fc.constantFrom([0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x80], [0xf0, 0x28, 0x8c, 0xbc])
    await fc.assert(fc.asyncProperty(badBytes, fc.constantFrom(0, 1), async (bytes, which) => {
      const tg = targets[which * 2] as typeof targets[number]
      const field = which === 0 ? 'key' : 'clientId'
      const json = JSON.stringify({ ...tg.base, [field]: 'MARK' })
      const [before, after] = json.split('MARK') as [string, string]
      const payload = Buffer.concat([Buffer.from(before + 'k'), Buffer.from(bytes), Buffer.from('k' + after)])
      // Regression: bytes that are not UTF-8 became U+FFFD and a client id nobody typed was stored.
      const failure = await refused(tg.method, tg.url, payload, { status: 400, code: 'BAD_REQUEST' }, true)
      if (failure !== undefined) throw new Error(`${field} with bytes ${bytes.join(',')}: ${failure}`)
    }), { numRuns: 30 })
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted')
    t.equal(({} as Record<string, unknown>).isAdmin, undefined)
    t.same(Object.getOwnPropertyNames(Object.prototype).filter(n => ['polluted', 'isAdmin', '$bad'].includes(n)), [])
    t.equal(await snapshot(), baseline, 'no row created or changed')
  })

  await t.test('hostile path ids: 400 or 404, nothing read, changed or deleted by mistake', async t => {
    const id = fc.oneof(
      fc.constantFrom('..', '..%2F..%2Fkeys', '%2e%2e', '1%00', '%00', '1;DROP TABLE x', '0', '-1', '01', '1e3', '0x1', '%201', '1%20', '%091', '1%0A', '1.0', `${ids.consumers}%2F..`, '9'.repeat(16), '9'.repeat(400), 'x'.repeat(2000), '%F0%9F%98%80', '%FF', 'null', 'undefined', '__proto__', 'constructor'),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 30 }).map(s => encodeURIComponent(s))
    )
    const op = fc.constantFrom(
      (i: string) => ['GET', `${API}/lti11/consumers/${i}`, undefined],
      (i: string) => ['PATCH', `${API}/lti11/consumers/${i}`, { name: 'Renamed' }],
      (i: string) => ['DELETE', `${API}/lti11/consumers/${i}`, undefined],
      (i: string) => ['PATCH', `${API}/lti13/registrations/${i}`, { active: false }],
      (i: string) => ['DELETE', `${API}/lti13/registrations/${i}`, undefined],
      (i: string) => ['DELETE', `${API}/lti13/registrations/${ids.registrations}/deployments/${i}`, undefined],
      (i: string) => ['POST', `${API}/lti13/registrations/${i}/deployments`, { deploymentId: 'new' }]
    )
    await fc.assert(fc.asyncProperty(id, op, async (i, make) => {
      // The real ids, spelled plainly, are not hostile. (Raw spaces are left out: the inject URL
      // parser trims them before any request exists.)
      fc.pre(![String(ids.consumers), String(ids.registrations), '1'].includes(safeDecode(i)))
      const [method, url, payload] = make(i) as [string, string, unknown]
      tally.add()
      const res = await app.inject({ method: method as 'GET', url, headers: adminHeaders, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) })
      const failure = notRefusal(res, { status: [400, 404, 414], code: ['VALIDATION_FAILED', 'NOT_FOUND', 'BAD_REQUEST', 'ADMIN_NOT_FOUND', 'ADMIN_CONSUMER_NOT_FOUND', 'ADMIN_REGISTRATION_NOT_FOUND', 'ADMIN_DEPLOYMENT_NOT_FOUND'] }, SECRETS)
        ?? (await snapshot() === baseline ? undefined : 'rows changed')
      if (failure !== undefined) throw new Error(`${method} ${url.slice(0, 200)}: ${failure}`)
    }), { numRuns: 200 })
    t.pass('200 hostile paths refused')
  })

  await t.test('the bearer check holds for hostile tokens (no admin action, nothing changed)', async t => {
    const token = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom(`Bearer ${TEST_ADMIN_TOKEN} x`, `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`admin:${TEST_ADMIN_TOKEN}`).toString('base64')}`, `Bearer\t${TEST_ADMIN_TOKEN}x`, 'Bearer ', `bearer ${TEST_ADMIN_TOKEN.toUpperCase()}`))
    await fc.assert(fc.asyncProperty(token, async authorization => {
      tally.add()
      const res = await app.inject({ method: 'DELETE', url: `${API}/lti11/consumers/${ids.consumers}`, headers: { authorization } })
      const failure = notRefusal(res, { status: [401, 403], code: ['ADMIN_TOKEN_MISSING', 'ADMIN_TOKEN_INVALID'] }, SECRETS) ?? (await snapshot() === baseline ? undefined : 'rows changed')
      if (failure !== undefined) throw new Error(`${JSON.stringify(authorization)}: ${failure}`)
    }), { numRuns: 100 })
    t.pass('100 forged tokens refused')
  })

  await t.test('regression: a lone UTF-16 surrogate ("\\ud800", valid JSON) was accepted and stored as other text', async t => {
    for (const [method, url, body] of [
      ['PATCH', `${API}/lti11/consumers/${ids.consumers}`, '{"name":"A\\ud800"}'],
      ['POST', `${API}/lti11/consumers`, JSON.stringify({ ...CONSUMER, key: 'other' }).replace('"Canvas"', '"\\udc00Canvas"')],
      ['PATCH', `${API}/lti13/registrations/${ids.registrations}`, '{"contentScope":["course-v1:MITx+*\\ud83d"]}']
    ] as const) {
      const failure = await refused(method, url, body, { status: 400, code: 'ADMIN_INVALID_FIELDS' }, true)
      t.equal(failure, undefined, `${method} ${url} ${body.slice(0, 60)}: ${String(failure)}`)
    }
    const pair = await send('PATCH', `${API}/lti11/consumers/${ids.consumers}`, '{"name":"Canvas \\ud83d\\ude00"}', true)
    t.equal(pair.statusCode, 200, 'a surrogate pair (an emoji) is text')
    t.equal((await app.knex('lti11_consumers').where({ id: ids.consumers }).first()).name, 'Canvas 😀', 'stored as accepted')
  })

  await t.test('regression: undecodable URLs and over-long path parameters got Fastify\'s own JSON (FST_ code, URL echoed)', async t => {
    for (const [url, status] of [[`${API}/lti11/consumers/%FF`, 400], [`${API}/lti11/consumers/${'x'.repeat(600)}`, 414], ['/lti/1.3/login%E0%A4%A', 400]] as const) {
      tally.add()
      const res = await app.inject({ method: 'GET', url, headers: adminHeaders })
      t.equal(notRefusal(res, { status, code: 'BAD_REQUEST' }, SECRETS), undefined, `${url.slice(0, 60)} → ${status} BAD_REQUEST`)
      t.notMatch(res.body, /FST_ERR|xxxxxxxxxx|%FF/, 'no framework code, no URL echoed')
    }
    tally.add()
    const page = await app.inject({ method: 'GET', url: '/lti/1.3/login%FF', headers: { accept: 'text/html' } })
    t.match(page.body, /Error code: <code>BAD_REQUEST<\/code>/, 'a learner gets the HTML page')
  })

  t.comment(`hostile admin API requests sent: ${tally.total}`)
})

function safeDecode (value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
