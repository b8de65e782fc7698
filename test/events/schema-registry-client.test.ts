import t from 'tap'
import { createSchemaRegistryClient } from '../../src/events/decode/schema-registry-client.js'
import { registryFetchFromClient, type RegistryFetchJson } from '../../src/events/decode/registry-fetch.js'
import { isTransientEventError, isPermanentEventError } from '../../src/events/errors.js'
import { loadEventBusFixtures } from '../support/event-bus-fixtures.js'
import { startFakeSchemaRegistry } from '../support/fake-schema-registry.js'

const { value_schema: SCHEMA, value_schema_id: ID } = loadEventBusFixtures()
const AUTH = { username: 'sr-key', password: 's3cret:with:colons' }

t.test('fetches GET /schemas/ids/{id} once and caches it', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA } })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: registry.url })
  t.equal(await client.getSchema(ID), SCHEMA)
  t.equal(await client.getSchema(ID), SCHEMA)
  t.equal(registry.counters.requests, 1)
  t.same(client.stats, { fetches: 1, cacheHits: 1 })
  t.equal(registry.lastAuthorization(), undefined, 'no credentials configured, none sent')
})

t.test('concurrent lookups of one id share one request', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA } })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: registry.url })
  const all = await Promise.all(Array.from({ length: 20 }, () => client.getSchema(ID)))
  t.ok(all.every(s => s === SCHEMA))
  t.equal(registry.counters.requests, 1)
})

t.test('the cache is bounded (least recently used goes)', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { 1: '"long"', 2: '"string"', 3: '"double"' } })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: registry.url, maxCachedSchemas: 2 })
  await client.getSchema(1)
  await client.getSchema(2)
  await client.getSchema(1)
  await client.getSchema(3) // evicts 2
  await client.getSchema(1)
  t.equal(registry.counters.byId.get(1), 1, 'still cached')
  await client.getSchema(2)
  t.equal(registry.counters.byId.get(2), 2, 'evicted, fetched again')
})

t.test('basic auth from options', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA }, basicAuth: AUTH })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: registry.url, basicAuth: AUTH })
  t.equal(await client.getSchema(ID), SCHEMA)
  t.equal(registry.lastAuthorization(), `Basic ${Buffer.from('sr-key:s3cret:with:colons').toString('base64')}`)
})

t.test('basic auth from URL userinfo (Confluent basic.auth.credentials.source=URL)', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA }, basicAuth: { username: 'u@x', password: 'p/w' } })
  t.teardown(registry.close)
  const url = registry.url.replace('http://', 'http://u%40x:p%2Fw@')
  const client = createSchemaRegistryClient({ url })
  t.equal(await client.getSchema(ID), SCHEMA)
})

t.test('refused credentials: EVENT_REGISTRY_AUTH_FAILED, retried, secret not in details', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA }, basicAuth: AUTH })
  t.teardown(registry.close)
  const wrong = createSchemaRegistryClient({ url: registry.url.replace('http://', 'http://sr-key:wrong@'), basicAuth: { username: 'sr-key', password: 'wrong' } })
  const err = await wrong.getSchema(ID).catch((e: unknown) => e)
  t.match(err, { code: 'EVENT_REGISTRY_AUTH_FAILED', details: { status: 401, schemaId: ID } })
  t.ok(isTransientEventError(err))
  t.notMatch(JSON.stringify((err as { details: unknown }).details), /wrong|sr-key/, 'no credentials in details')
  const none = createSchemaRegistryClient({ url: registry.url })
  await t.rejects(none.getSchema(ID), { code: 'EVENT_REGISTRY_AUTH_FAILED' })
  t.equal(registry.counters.unauthorized, 2)
})

t.test('unknown id: EVENT_UNKNOWN_SCHEMA (dead letter), not cached', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: {} })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: registry.url })
  const err = await client.getSchema(99).catch((e: unknown) => e)
  t.match(err, { code: 'EVENT_UNKNOWN_SCHEMA', details: { schemaId: 99, status: 404, errorCode: 40403 } })
  t.ok(isPermanentEventError(err))
  registry.addSchema(99, SCHEMA)
  t.equal(await client.getSchema(99), SCHEMA, 'registered later: found')
})

t.test('a 404 without 40403 (wrong base URL, proxy) is retried, not dead-lettered', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA } })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: `${registry.url}/wrong-prefix` })
  await t.rejects(client.getSchema(ID), { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { status: 404 } })
})

t.test('a base URL with a path prefix is kept', async t => {
  const seen: string[] = []
  const fetchJson: RegistryFetchJson = async url => {
    seen.push(url)
    return { status: 200, body: { schema: SCHEMA } }
  }
  await createSchemaRegistryClient({ url: 'https://sr.example.com/confluent?x=1#y', fetchJson }).getSchema(7)
  await createSchemaRegistryClient({ url: 'https://sr.example.com/confluent/', fetchJson }).getSchema(8)
  await createSchemaRegistryClient({ url: 'https://sr.example.com', fetchJson }).getSchema(9)
  t.same(seen, ['https://sr.example.com/confluent/schemas/ids/7', 'https://sr.example.com/confluent/schemas/ids/8', 'https://sr.example.com/schemas/ids/9'])
  t.throws(() => createSchemaRegistryClient({ url: 'ftp://sr.example.com', fetchJson }), TypeError)
})

t.test('registry down: EVENT_REGISTRY_UNAVAILABLE (retry), recovers when back', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA } })
  t.teardown(registry.close)
  const client = createSchemaRegistryClient({ url: registry.url })
  registry.setMode('down')
  const err = await client.getSchema(ID).catch((e: unknown) => e)
  t.match(err, { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { status: 503, errorCode: 50301 } })
  t.ok(isTransientEventError(err))
  registry.setMode('up')
  t.equal(await client.getSchema(ID), SCHEMA, 'failure was not cached')
})

t.test('connection refused: EVENT_REGISTRY_UNAVAILABLE', async t => {
  const registry = await startFakeSchemaRegistry()
  const url = registry.url
  await registry.close()
  const err = await createSchemaRegistryClient({ url }).getSchema(ID).catch((e: unknown) => e)
  t.match(err, { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { schemaId: ID, registry: `${url}/` } })
})

t.test('a registry that never answers times out', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [ID]: SCHEMA } })
  t.teardown(registry.close)
  registry.setMode('hang')
  const client = createSchemaRegistryClient({ url: registry.url, timeoutMs: 200 })
  const started = Date.now()
  await t.rejects(client.getSchema(ID), { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { reason: /200 ms/ } })
  t.ok(Date.now() - started < 2000, 'bounded by the timeout')
})

t.test('an injected client that ignores the abort signal is still bounded', async t => {
  let signalSeen: AbortSignal | undefined
  const fetchJson: RegistryFetchJson = (_url, _headers, signal) => {
    signalSeen = signal
    return new Promise(() => {})
  }
  const client = createSchemaRegistryClient({ url: 'http://sr.invalid', fetchJson, timeoutMs: 50 })
  await t.rejects(client.getSchema(ID), { code: 'EVENT_REGISTRY_UNAVAILABLE' })
  t.equal(signalSeen?.aborted, true, 'the signal was aborted for clients that honour it')
})

t.test('injected client: gets the URL and headers, its errors become EVENT_REGISTRY_UNAVAILABLE', async t => {
  const calls: Array<{ url: string, headers: Record<string, string> }> = []
  const fetchJson: RegistryFetchJson = async (url, headers) => {
    calls.push({ url, headers })
    throw new Error('HTTP_OUT_BLOCKED: loopback address refused')
  }
  const client = createSchemaRegistryClient({ url: 'https://sr.example.com', basicAuth: AUTH, fetchJson })
  const err = await client.getSchema(5).catch((e: unknown) => e)
  t.match(err, { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { reason: 'HTTP_OUT_BLOCKED: loopback address refused' } })
  t.equal(calls[0]?.url, 'https://sr.example.com/schemas/ids/5')
  t.match(calls[0]?.headers, { authorization: /^Basic /, accept: /application\/vnd\.schemaregistry\.v1\+json/ })
})

t.test('unusable answers', async t => {
  const answer = (status: number, body: unknown): RegistryFetchJson => async () => ({ status, body })
  const get = (fetchJson: RegistryFetchJson) => createSchemaRegistryClient({ url: 'https://sr.example.com', fetchJson }).getSchema(1)
  await t.rejects(get(answer(200, undefined)), { code: 'EVENT_REGISTRY_UNAVAILABLE' }, 'not JSON')
  await t.rejects(get(answer(200, { schema: { type: 'long' } })), { code: 'EVENT_REGISTRY_UNAVAILABLE' }, 'schema not a string')
  await t.rejects(get(answer(200, { schemaType: 'PROTOBUF', schema: 'syntax = "proto3";' })), { code: 'EVENT_SCHEMA_MISMATCH', details: { schemaType: 'PROTOBUF' } })
  t.equal(await get(answer(200, { schemaType: 'AVRO', schema: '"long"' })), '"long"', 'explicit AVRO is fine')
  await t.rejects(get(answer(500, { error_code: 50001 })), { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { errorCode: 50001 } })
  await t.rejects(get(answer(429, undefined)), { code: 'EVENT_REGISTRY_UNAVAILABLE' })
  await t.rejects(get(answer(403, undefined)), { code: 'EVENT_REGISTRY_AUTH_FAILED' })
  await t.rejects(get(answer(302, undefined)), { code: 'EVENT_REGISTRY_UNAVAILABLE' }, 'redirects are not followed')
})

t.test('the default transport caps the answer size', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { 1: JSON.stringify({ type: 'record', name: 'Big', doc: 'x'.repeat(2 * 1024 * 1024), fields: [] }) } })
  t.teardown(registry.close)
  await t.rejects(createSchemaRegistryClient({ url: registry.url }).getSchema(1), { code: 'EVENT_REGISTRY_UNAVAILABLE', details: { reason: /larger than/ } })
})

t.test('registryFetchFromClient adapts a src/http-style client', async t => {
  const seen: unknown[] = []
  const client = {
    request: async (req: { url: string, headers?: Readonly<Record<string, string>>, signal?: AbortSignal, followRedirects?: boolean }) => {
      seen.push(req)
      return { status: 200, body: Buffer.from(JSON.stringify({ schema: SCHEMA })) }
    }
  }
  const registry = createSchemaRegistryClient({ url: 'https://sr.example.com', basicAuth: AUTH, fetchJson: registryFetchFromClient(client) })
  t.equal(await registry.getSchema(ID), SCHEMA)
  t.match(seen[0], { url: `https://sr.example.com/schemas/ids/${ID}`, followRedirects: false, headers: { authorization: /^Basic / } })
  t.ok((seen[0] as { signal?: unknown }).signal instanceof AbortSignal)
  const junk = registryFetchFromClient({ request: async () => ({ status: 502, body: Buffer.from('<html>bad gateway</html>') }) })
  t.same(await junk('https://x', {}, new AbortController().signal), { status: 502, body: undefined })
})
