import t from 'tap'
import { readFileSync } from 'node:fs'
import avsc from 'avsc'
import { createWeightedScoreDecoder } from '../../src/events/decode/weighted-score-decoder.js'
import { createWeightedScoreEncoder } from '../../src/events/decode/weighted-score-encoder.js'
import { decodeEventKey, encodeEventKey } from '../../src/events/decode/event-key.js'
import { bundledSchemaText, weightedScoreType } from '../../src/events/decode/bundled-schema.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from '../../src/events/decode/event-type.js'
import { OPEN_EDX_HEADER_NAMES } from '../../src/events/decode/open-edx-headers.js'
import { toCloudEventRecord } from '../../src/events/decode/weighted-score-changed.js'
import { createSchemaRegistryClient } from '../../src/events/decode/schema-registry-client.js'
import { fixtureHeaders, loadEventBusFixtures } from '../support/event-bus-fixtures.js'
import { startFakeSchemaRegistry } from '../support/fake-schema-registry.js'

const manifest = loadEventBusFixtures()

// Epoch microseconds of each fixture's `modified`, computed with CPython's datetime.fromisoformat.
const PYTHON_EPOCH_MICROS: Record<string, number> = {
  'leaf-problem': 1795169730123456,
  'submissions-score': 1795248000000000,
  'score-reset': 1795348800500000,
  'unicode-key': 1795391999000000
}

t.test('the manifest is the one we expect', async t => {
  t.equal(manifest.event_type, WEIGHTED_SCORE_CHANGED_EVENT_TYPE)
  t.same(manifest.messages.map(m => m.name), ['leaf-problem', 'submissions-score', 'score-reset', 'unicode-key'])
  for (const m of manifest.messages) {
    t.equal(m.value.toString('hex'), m.value_hex, `${m.name}: .bin matches value_hex`)
    t.equal(m.key.toString('hex'), m.key_hex, `${m.name}: .bin matches key_hex`)
  }
})

t.test('the vendored .avsc is the reader schema of event-bus.md §3.2', async t => {
  const onDisk = readFileSync(new URL('../../schemas/avro/org+openedx+learning+problem+weighted_score+changed+v1_schema.avsc', import.meta.url), 'utf8')
  t.equal(bundledSchemaText(), onDisk)
  // The producer registers json.dumps(schema, sort_keys=True): same schema, 801 bytes (event-bus.md §3.2).
  t.equal(Buffer.byteLength(manifest.value_schema), 801)
  const ours = weightedScoreType()
  const registered = avsc.Type.forSchema(JSON.parse(manifest.value_schema))
  t.ok(ours.fingerprint().equals(registered.fingerprint()), 'same Avro fingerprint as the registered string')
  t.equal(ours.name, 'org.openedx.learning.problem.weighted_score.changed.v1.CloudEvent')
})

t.test('the small encoding check of event-bus.md §3.2', async t => {
  const expected = ('54 26 636f757273652d76313a4f72672b43312b5231 50 626c6f636b2d76313a4f72672b43312b52312b747970654070726f626c656d2b626c6f636b407031' +
    ' 000000000000f03f 0000000000000040 40 323032342d30352d30315431323a30303a30302e3132333435362b30303a3030 06 63736d 00 00 02 00').replace(/ /g, '')
  const body = weightedScoreType().toBuffer(toCloudEventRecord({
    user_id: 42,
    course_id: 'course-v1:Org+C1+R1',
    usage_id: 'block-v1:Org+C1+R1+type@problem+block@p1',
    weighted_earned: 1,
    weighted_possible: 2,
    modified: '2024-05-01T12:00:00.123456+00:00',
    score_db_table: 'csm',
    score_deleted: false,
    anonymous_user_id: null,
    only_if_higher: false
  }))
  t.equal(body.toString('hex'), expected)
})

t.test('every fixture decodes to the manifest values (bundled schema)', async t => {
  const decoder = createWeightedScoreDecoder()
  for (const m of manifest.messages) {
    const result = await decoder.decode({ headers: fixtureHeaders(m), value: m.value })
    if (result.kind !== 'event') {
      t.fail(`${m.name}: not decoded`)
      continue
    }
    t.same(result.event, m.decoded, `${m.name}: payload`)
    t.strictSame(Object.keys(result.event).sort(), Object.keys(m.decoded).sort(), `${m.name}: no extra fields`)
    t.equal(Object.getPrototypeOf(result.event), Object.prototype, `${m.name}: a plain object, not an avsc record`)
    t.equal(result.schemaId, manifest.value_schema_id)
    t.equal(result.modifiedEpochMicros, PYTHON_EPOCH_MICROS[m.name], `${m.name}: modified in epoch µs`)
    for (const name of OPEN_EDX_HEADER_NAMES) t.equal(result.headers[name], m.headers[name], `${m.name}: header ${name}`)
  }
})

t.test('unions come back unwrapped: null or the plain value', async t => {
  const decoder = createWeightedScoreDecoder()
  const [leaf, submissions, reset, unicode] = manifest.messages
  const decode = async (m: typeof leaf) => {
    const r = await decoder.decode({ headers: fixtureHeaders(m!), value: m!.value })
    if (r.kind !== 'event') throw new Error('not decoded')
    return r.event
  }
  t.equal((await decode(leaf)).anonymous_user_id, null)
  t.equal((await decode(submissions)).only_if_higher, null)
  t.equal((await decode(reset)).anonymous_user_id, 'ab12')
  t.equal((await decode(unicode)).only_if_higher, true)
  t.equal(typeof (await decode(submissions)).user_id, 'number', 'an Avro long is a JS number')
})

t.test('every fixture decodes through a Schema Registry holding the producer\'s sorted schema', async t => {
  const registry = await startFakeSchemaRegistry({ schemas: { [manifest.value_schema_id]: manifest.value_schema } })
  t.teardown(registry.close)
  const decoder = createWeightedScoreDecoder({ registry: createSchemaRegistryClient({ url: registry.url }) })
  for (const m of manifest.messages) {
    const result = await decoder.decode({ headers: fixtureHeaders(m), value: m.value })
    t.same(result.kind === 'event' && result.event, m.decoded, m.name)
  }
  t.equal(registry.counters.byId.get(manifest.value_schema_id), 1, 'writer schema fetched once for all messages')
})

t.test('keys: decode leniently, re-encode byte for byte', async t => {
  for (const m of manifest.messages) {
    t.same(decodeEventKey(m.key), { schemaId: manifest.key_schema_id, userId: m.decoded.user_id }, m.name)
    t.equal(encodeEventKey(m.decoded.user_id, manifest.key_schema_id).toString('hex'), m.key_hex, m.name)
  }
  t.equal(decodeEventKey(null), undefined)
  t.equal(decodeEventKey(Buffer.from('user-42')), undefined, 'a plain string key')
  t.equal(decodeEventKey(Buffer.from('0000000008', 'hex')), undefined, 'frame without body')
  t.equal(decodeEventKey(Buffer.from('000000000880', 'hex')), undefined, 'truncated varint')
})

t.test('decode → re-encode gives the same bytes and the same ten headers', async t => {
  const decoder = createWeightedScoreDecoder()
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  for (const m of manifest.messages) {
    const result = await decoder.decode({ headers: fixtureHeaders(m), value: m.value })
    if (result.kind !== 'event') {
      t.fail(`${m.name}: not decoded`)
      continue
    }
    const h = result.headers
    const encoded = encoder.encode(result.event, {
      ce_id: h.ce_id,
      ce_time: h.ce_time ?? '',
      ce_source: h.ce_source ?? '',
      ce_minorversion: h.ce_minorversion ?? '',
      sourcehost: h.sourcehost ?? '',
      sourcelib: h.sourcelib ?? ''
    })
    t.equal(encoded.value.toString('hex'), m.value_hex, `${m.name}: value bytes`)
    t.equal(encoded.key.toString('hex'), m.key_hex, `${m.name}: key bytes`)
    t.same(Object.keys(encoded.headers), [...OPEN_EDX_HEADER_NAMES], `${m.name}: header names in producer order`)
    for (const name of OPEN_EDX_HEADER_NAMES) {
      t.equal(encoded.headers[name].toString('utf8'), m.headers[name], `${m.name}: header ${name}`)
    }
  }
})

t.test('encoding straight from the manifest values gives the fixture bytes', async t => {
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  for (const m of manifest.messages) {
    const { ce_id: ceId, ce_time: ceTime, ce_source: ceSource, ce_minorversion: minor, sourcehost, sourcelib } = m.headers
    const encoded = encoder.encode(m.decoded, { ce_id: ceId, ce_time: ceTime, ce_source: ceSource, ce_minorversion: minor, sourcehost, sourcelib })
    t.ok(encoded.value.equals(m.value), `${m.name}: value`)
    t.ok(encoded.key.equals(m.key), `${m.name}: key`)
  }
})
