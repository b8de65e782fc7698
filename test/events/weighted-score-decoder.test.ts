import t from 'tap'
import avsc from 'avsc'
import { createWeightedScoreDecoder, type WeightedScoreDecoder } from '../../src/events/decode/weighted-score-decoder.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../src/events/decode/weighted-score-encoder.js'
import { createSchemaRegistryClient } from '../../src/events/decode/schema-registry-client.js'
import { writeConfluentFrame } from '../../src/events/decode/confluent-frame.js'
import { weightedScoreSchema } from '../../src/events/decode/bundled-schema.js'
import type { WeightedScoreChanged } from '../../src/events/decode/weighted-score-changed.js'
import { isPermanentEventError, isTransientEventError } from '../../src/events/errors.js'
import { fixtureHeaders, loadEventBusFixtures } from '../support/event-bus-fixtures.js'
import { startFakeSchemaRegistry, type FakeSchemaRegistry } from '../support/fake-schema-registry.js'

const manifest = loadEventBusFixtures()
const [leaf] = manifest.messages
const LEAF = leaf!
const headers = fixtureHeaders(LEAF)
const ID = manifest.value_schema_id

type Field = { name: string, type: unknown, default?: unknown }
/** The registered schema with `problem_score` fields changed: an evolved or broken producer. */
function writerSchema (edit: (fields: Field[]) => Field[]): string {
  const schema = JSON.parse(manifest.value_schema)
  schema.fields[0].type.fields = edit(schema.fields[0].type.fields)
  return JSON.stringify(schema)
}

async function registryDecoder (t: { teardown: (fn: () => unknown) => void }, schemas: Record<number, string>, eventType?: string): Promise<{ registry: FakeSchemaRegistry, decoder: WeightedScoreDecoder }> {
  const registry = await startFakeSchemaRegistry({ schemas })
  t.teardown(registry.close)
  return { registry, decoder: createWeightedScoreDecoder({ eventType, registry: createSchemaRegistryClient({ url: registry.url }) }) }
}

async function failure (promise: Promise<unknown>): Promise<{ code: string, details: Record<string, unknown> }> {
  try {
    await promise
  } catch (err) {
    return err as { code: string, details: Record<string, unknown> }
  }
  throw new Error('expected the decode to fail')
}

t.test('wrong magic byte: EVENT_BAD_MAGIC, dead letter', async t => {
  const value = Buffer.from(LEAF.value)
  value[0] = 1
  const err = await failure(createWeightedScoreDecoder().decode({ headers, value }))
  t.match(err, { code: 'EVENT_BAD_MAGIC' })
  t.ok(isPermanentEventError(err))
})

t.test('value shorter than the frame, or null: EVENT_TRUNCATED', async t => {
  const decoder = createWeightedScoreDecoder()
  t.match(await failure(decoder.decode({ headers, value: LEAF.value.subarray(0, 3) })), { code: 'EVENT_TRUNCATED', details: { where: 'frame' } })
  t.match(await failure(decoder.decode({ headers, value: null })), { code: 'EVENT_TRUNCATED' })
})

t.test('truncated Avro body: EVENT_TRUNCATED at every cut', async t => {
  const decoder = createWeightedScoreDecoder()
  for (const m of manifest.messages) {
    const codes = new Set<string>()
    for (let end = 5; end < m.value.length; end++) {
      const err = await failure(decoder.decode({ headers: fixtureHeaders(m), value: m.value.subarray(0, end) }))
      codes.add(err.code)
    }
    // Every field is length-prefixed or fixed-size, so any cut is detected as such.
    t.same([...codes], ['EVENT_TRUNCATED'], `${m.name}: ${m.value.length - 5} cuts`)
  }
  const err = await failure(decoder.decode({ headers, value: LEAF.value.subarray(0, LEAF.value.length - 1) }))
  t.match(err, { code: 'EVENT_TRUNCATED', details: { where: 'avro', schemaId: ID } }, 'last byte missing')
  t.ok(isPermanentEventError(err))
})

t.test('trailing bytes after the record: EVENT_BAD_PAYLOAD', async t => {
  const err = await failure(createWeightedScoreDecoder().decode({ headers, value: Buffer.concat([LEAF.value, Buffer.from([0])]) }))
  t.match(err, { code: 'EVENT_BAD_PAYLOAD', details: { reason: 'trailing data' } })
})

t.test('user_id beyond 2^53: EVENT_BAD_PAYLOAD instead of a silently wrong number', async t => {
  const longType = avsc.Type.forSchema('long')
  // zigzag varint of 2^60, written by hand since avsc refuses to encode it.
  const big = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20])
  t.throws(() => longType.fromBuffer(big), /precision/)
  const body = Buffer.concat([big, LEAF.value.subarray(6)]) // leaf's user_id 42 is one byte (0x54)
  const err = await failure(createWeightedScoreDecoder().decode({ headers, value: writeConfluentFrame(ID, body) }))
  t.match(err, { code: 'EVENT_BAD_PAYLOAD', details: { reason: /precision/ } })
})

t.test('field checks: EVENT_BAD_FIELD', async t => {
  const encoder = createWeightedScoreEncoder({ valueSchemaId: ID, keySchemaId: 8 })
  const decoder = createWeightedScoreDecoder()
  const bad = async (patch: Partial<WeightedScoreChanged>) => {
    const msg = encoder.encode({ ...LEAF.decoded, ...patch }, newEventMetadata())
    return failure(decoder.decode({ headers: msg.headers, value: msg.value }))
  }
  t.match(await bad({ weighted_earned: Number.NaN }), { code: 'EVENT_BAD_FIELD', details: { field: 'weighted_earned' } })
  t.match(await bad({ weighted_possible: Number.POSITIVE_INFINITY }), { code: 'EVENT_BAD_FIELD', details: { field: 'weighted_possible' } })
  t.match(await bad({ modified: 'yesterday' }), { code: 'EVENT_BAD_FIELD', details: { field: 'modified' } })
})

t.test('unknown schema id with a registry: EVENT_UNKNOWN_SCHEMA, dead letter', async t => {
  const { decoder } = await registryDecoder(t, { [ID]: manifest.value_schema })
  const err = await failure(decoder.decode({ headers, value: writeConfluentFrame(4242, LEAF.value.subarray(5)) }))
  t.match(err, { code: 'EVENT_UNKNOWN_SCHEMA', details: { schemaId: 4242 } })
  t.ok(isPermanentEventError(err))
})

t.test('registry down: EVENT_REGISTRY_UNAVAILABLE, retried; works once it is back', async t => {
  const { registry, decoder } = await registryDecoder(t, { [ID]: manifest.value_schema })
  registry.setMode('down')
  const err = await failure(decoder.decode({ headers, value: LEAF.value }))
  t.match(err, { code: 'EVENT_REGISTRY_UNAVAILABLE' })
  t.ok(isTransientEventError(err))
  t.notOk(isPermanentEventError(err))
  registry.setMode('up')
  const ok = await decoder.decode({ headers, value: LEAF.value })
  t.same(ok.kind === 'event' && ok.event, LEAF.decoded)
})

t.test('writer schemas that do not resolve: EVENT_SCHEMA_MISMATCH', async t => {
  const cases: Record<string, string> = {
    'user_id became a string': writerSchema(f => f.map(x => (x.name === 'user_id' ? { name: 'user_id', type: 'string' } : x))),
    'a required field is missing': writerSchema(f => f.filter(x => x.name !== 'score_db_table')),
    'another record name': JSON.stringify({ ...JSON.parse(manifest.value_schema), namespace: 'org.openedx.learning.course.passing.status.updated.v1' }),
    'not an Avro schema': '{"type": "nonsense"}',
    'not JSON': 'record CloudEvent {',
    'a name avsc refuses': JSON.stringify({ ...JSON.parse(manifest.value_schema), namespace: 'org.openedx.enterprise.subsidy.redemption-reversed.v1' })
  }
  const ids = Object.fromEntries(Object.values(cases).map((schema, i) => [100 + i, schema]))
  const { decoder } = await registryDecoder(t, ids)
  let id = 100
  for (const name of Object.keys(cases)) {
    const err = await failure(decoder.decode({ headers, value: writeConfluentFrame(id, LEAF.value.subarray(5)) }))
    t.match(err, { code: 'EVENT_SCHEMA_MISMATCH', details: { schemaId: id } }, name)
    t.ok(isPermanentEventError(err), name)
    id++
  }
})

t.test('an evolved writer schema still resolves (new field with default, optional field dropped)', async t => {
  const evolved = writerSchema(f => [
    ...f.filter(x => x.name !== 'only_if_higher'),
    { name: 'grader_response', type: ['null', 'string'], default: null }
  ])
  const type = avsc.Type.forSchema(JSON.parse(evolved))
  const body = type.toBuffer({ problem_score: { ...LEAF.decoded, grader_response: 'ok' } })
  const { decoder } = await registryDecoder(t, { 55: evolved })
  const result = await decoder.decode({ headers, value: writeConfluentFrame(55, body) })
  t.same(result.kind === 'event' && result.event, { ...LEAF.decoded, only_if_higher: null }, 'missing optional → null, extra field dropped')
})

t.test('resolvers are cached per schema id', async t => {
  const { registry, decoder } = await registryDecoder(t, { [ID]: manifest.value_schema, 8: manifest.value_schema })
  for (let i = 0; i < 5; i++) await decoder.decode({ headers, value: LEAF.value })
  await decoder.decode({ headers, value: writeConfluentFrame(8, LEAF.value.subarray(5)) })
  t.equal(registry.counters.byId.get(ID), 1)
  t.equal(registry.counters.byId.get(8), 1)
})

t.test('other event types are skipped before the payload or the registry is touched', async t => {
  const { registry, decoder } = await registryDecoder(t, { [ID]: manifest.value_schema })
  const otherHeaders = { ...headers, ce_type: Buffer.from('org.openedx.enterprise.subsidy.redemption-reversed.v1') }
  for (const value of [Buffer.from('not avro at all'), null, LEAF.value]) {
    const result = await decoder.decode({ headers: otherHeaders, value })
    t.same(result, { kind: 'other-type', eventType: 'org.openedx.enterprise.subsidy.redemption-reversed.v1' })
  }
  t.equal(registry.counters.requests, 0, 'no registry call')
  t.same(decoder.classify(otherHeaders), { kind: 'other-type', eventType: 'org.openedx.enterprise.subsidy.redemption-reversed.v1' })
})

t.test('header errors come before the payload is read', async t => {
  const { registry, decoder } = await registryDecoder(t, { [ID]: manifest.value_schema })
  const { ce_type: _type, ...noType } = headers
  const { ce_id: _id, ...noId } = headers
  t.match(await failure(decoder.decode({ headers: noType, value: LEAF.value })), { code: 'EVENT_MISSING_HEADER', details: { header: 'ce_type' } })
  t.match(await failure(decoder.decode({ headers: noId, value: LEAF.value })), { code: 'EVENT_MISSING_HEADER', details: { header: 'ce_id' } })
  t.match(await failure(decoder.decode({ headers: { ...headers, ce_type: [headers.ce_type!, headers.ce_type!] }, value: LEAF.value })), { code: 'EVENT_DUPLICATE_HEADER' })
  t.match(await failure(decoder.decode({ headers: { ...headers, ce_id: [headers.ce_id!, Buffer.from('x')] }, value: Buffer.from('garbage') })), { code: 'EVENT_DUPLICATE_HEADER' })
  t.match(await failure(decoder.decode({ headers: undefined, value: LEAF.value })), { code: 'EVENT_MISSING_HEADER' }, 'a record without headers')
  t.equal(registry.counters.requests, 0)
})

t.test('a custom event type: namespace follows it, so its schema resolves', async t => {
  const custom = 'org.example.learning.problem.weighted_score.changed.v1'
  const encoder = createWeightedScoreEncoder({ eventType: custom, valueSchemaId: 31, keySchemaId: 32 })
  const msg = encoder.encode(LEAF.decoded, newEventMetadata())
  t.equal(msg.headers.ce_type.toString(), custom)
  const { decoder: customDecoder } = await registryDecoder(t, { 31: JSON.stringify(weightedScoreSchema(custom)) }, custom)
  const result = await customDecoder.decode({ headers: msg.headers, value: msg.value })
  t.same(result.kind === 'event' && result.event, LEAF.decoded)
  const { decoder } = await registryDecoder(t, { 31: JSON.stringify(weightedScoreSchema(custom)) })
  t.same(await decoder.decode({ headers: msg.headers, value: msg.value }), { kind: 'other-type', eventType: custom }, 'the default decoder skips it')
  // Same bytes, default type in the header: our reader's full name differs from the writer's.
  const relabelled = { ...msg.headers, ce_type: Buffer.from('org.openedx.learning.problem.weighted_score.changed.v1') }
  t.match(await failure(decoder.decode({ headers: relabelled, value: msg.value })), { code: 'EVENT_SCHEMA_MISMATCH' })
  t.throws(() => createWeightedScoreDecoder({ eventType: 'org.example.bad-name.v1' }), /invalid/, 'a type Avro cannot use as namespace fails at construction')
})

t.test('bundled mode reads any schema id with the bundled schema', async t => {
  const result = await createWeightedScoreDecoder().decode({ headers, value: writeConfluentFrame(12345, LEAF.value.subarray(5)) })
  t.equal(result.kind === 'event' && result.schemaId, 12345)
})

t.test('encoder metadata defaults look like the LMS', async t => {
  const meta = newEventMetadata({ now: new Date('2026-11-21T08:00:00.250Z'), sourcehost: 'demo' })
  t.match(meta, { ce_time: '2026-11-21T08:00:00.250000+00:00', ce_source: 'openedx/lms/web', ce_minorversion: '0', sourcehost: 'demo', sourcelib: '11.2.0' })
  t.match(meta.ce_id, /^[0-9a-f-]{36}$/)
  t.not(newEventMetadata().ce_id, meta.ce_id)
  const encoder = createWeightedScoreEncoder({ valueSchemaId: ID, keySchemaId: 8 })
  t.throws(() => encoder.encode({ ...LEAF.decoded, user_id: 1.5 }, meta), /invalid/, 'avsc refuses values that do not fit')
})
