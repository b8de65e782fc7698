import t from 'tap'
import type { Knex } from 'knex'
import { createDeadLettersRepository } from '../../../src/db/repositories/dead-letters-repository.js'
import { createMessageProcessor, type ConsumedMessage } from '../../../src/events/consumer/message-processor.js'
import { createSchemaRegistryClient } from '../../../src/events/decode/schema-registry-client.js'
import { createWeightedScoreDecoder } from '../../../src/events/decode/weighted-score-decoder.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../../src/events/decode/weighted-score-encoder.js'
import type { WeightedScoreChanged } from '../../../src/events/decode/weighted-score-changed.js'
import { createScoreChangeRecorder } from '../../../src/grades/score-change-recorder.js'
import { createTestDb } from '../../helpers/db.js'
import { fixtureHeaders, loadEventBusFixtures } from '../../support/event-bus-fixtures.js'
import { startFakeSchemaRegistry } from '../../support/fake-schema-registry.js'
import { createSeeder } from '../../support/grade-targets-seed.js'

const manifest = loadEventBusFixtures()
const leafFixture = manifest.messages.find(m => m.name === 'leaf-problem')!
const TOPIC = 'dev-learning-problem-score-lifecycle'
const NOW = 1_800_000_000_000

async function setup (t: { teardown: (fn: () => unknown) => void }) {
  const db = await createTestDb(t)
  const registry = await startFakeSchemaRegistry({ schemas: { [manifest.value_schema_id]: manifest.value_schema } })
  t.teardown(registry.close)
  const relevant = new Set<number>([leafFixture.decoded.user_id])
  const processor = createMessageProcessor({
    decoder: createWeightedScoreDecoder({ registry: createSchemaRegistryClient({ url: registry.url, timeoutMs: 500 }) }),
    relevantUsers: { has: id => relevant.has(id) },
    recorder: createScoreChangeRecorder({ knex: db.knex, compositeDelayMs: 900_000, now: () => NOW }),
    deadLetters: createDeadLettersRepository(db.knex),
    now: () => NOW
  })
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: 42, lmsUsername: 'learner42' })
  await seed.assignment(user, { lmsUserId: 42, courseKey: leafFixture.decoded.course_id, usageKey: leafFixture.decoded.usage_id })
  let offset = 0
  const message = (over: Partial<ConsumedMessage> = {}): ConsumedMessage => ({
    topic: TOPIC, partition: 2, offset: String(offset++), key: leafFixture.key, value: leafFixture.value, headers: fixtureHeaders(leafFixture), ...over
  })
  const encoder = createWeightedScoreEncoder({ valueSchemaId: manifest.value_schema_id, keySchemaId: manifest.key_schema_id })
  const encoded = (event: Partial<WeightedScoreChanged>) => {
    const e = encoder.encode({ ...leafFixture.decoded, ...event }, newEventMetadata())
    return message({ key: e.key, value: e.value, headers: e.headers })
  }
  const count = async (table: string) => Number((await db.knex(table).count({ n: '*' }))[0]?.n)
  return { db, registry, relevant, processor, message, encoded, count }
}

function countQueries (knex: Knex): { readonly n: number, stop: () => void } {
  const counter = { n: 0, stop: () => { knex.off('query', on) } }
  const on = () => { counter.n++ }
  knex.on('query', on)
  return counter
}

t.test('the Apache Avro fixture for a learner launched on the problem: one job 2/3', async t => {
  const s = await setup(t)
  t.same(await s.processor.process(s.message()), { outcome: 'queued', ceId: leafFixture.headers.ce_id, jobs: 1 })
  t.match(await s.db.knex('passbacks').select('*'), [{ method: 'leaf', score_given: 2, score_maximum: 3, ce_id: leafFixture.headers.ce_id, status: 'pending' }])
  t.same(await s.processor.process(s.message()), { outcome: 'duplicate', ceId: leafFixture.headers.ce_id, jobs: 0 }, 'redelivered: nothing')
  t.equal(await s.count('passbacks'), 1)
})

t.test('an irrelevant learner costs no query; another event type costs no decode', async t => {
  const s = await setup(t)
  s.relevant.clear()
  const queries = countQueries(s.db.knex)
  const first = s.processor.process(s.message())
  t.ok(first instanceof Promise, 'the first record of a schema id waits for its writer schema')
  t.same(await first, { outcome: 'irrelevant' }, 'no header decoded past ce_type, so no ceId')
  t.same(s.processor.process(s.message()), { outcome: 'irrelevant' }, 'then settled synchronously: the consumer fast path')
  t.same(s.processor.process(s.encoded({ user_id: 999_999 })), { outcome: 'irrelevant' }, 'any other learner')
  queries.stop()
  t.equal(queries.n, 0, 'no database query at all')
  t.equal(await s.count('processed_events'), 0, 'nothing written')

  const before = s.registry.counters.requests
  const other = s.message({ value: Buffer.from('not avro at all'), headers: { ...fixtureHeaders(leafFixture), ce_type: Buffer.from('org.openedx.enterprise.subsidy.redemption-reversed.v1') } })
  t.same(await s.processor.process(other), { outcome: 'other_type' })
  t.equal(s.registry.counters.requests, before, 'no registry call for a foreign type')
})

t.test('bad input: the right dead letter, with topic, partition, offset, key, headers and value; or a retry', async t => {
  const s = await setup(t)
  const framed = (schemaId: number, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, schemaId]), body])
  const body = leafFixture.value.subarray(5)
  const headers = fixtureHeaders(leafFixture)
  const without = (name: string) => Object.fromEntries(Object.entries(headers).filter(([k]) => k !== name))
  s.registry.addSchema(9, JSON.stringify({ type: 'record', name: 'CloudEvent', namespace: 'org.openedx.learning.problem.weighted_score.changed.v1', fields: [{ name: 'problem_score', type: 'string' }] }))

  const cases: Array<[string, Partial<ConsumedMessage>, string]> = [
    ['wrong magic byte', { value: Buffer.concat([Buffer.from([1]), leafFixture.value.subarray(1)]) }, 'EVENT_BAD_MAGIC'],
    ['unknown schema id', { value: framed(77, body) }, 'EVENT_UNKNOWN_SCHEMA'],
    ['truncated Avro', { value: leafFixture.value.subarray(0, leafFixture.value.length - 20) }, 'EVENT_TRUNCATED'],
    ['shorter than the frame', { value: Buffer.from([0, 0, 0]) }, 'EVENT_TRUNCATED'],
    ['no value at all', { value: null }, 'EVENT_TRUNCATED'],
    ['a writer schema that does not resolve', { value: framed(9, body) }, 'EVENT_SCHEMA_MISMATCH'],
    ['missing ce_type', { headers: without('ce_type') }, 'EVENT_MISSING_HEADER'],
    ['missing ce_id', { headers: without('ce_id') }, 'EVENT_MISSING_HEADER'],
    ['duplicated ce_type', { headers: { ...headers, ce_type: [headers.ce_type!, headers.ce_type!] } }, 'EVENT_DUPLICATE_HEADER'],
    ['duplicated ce_id', { headers: { ...headers, ce_id: [Buffer.from('a'), Buffer.from('b')] } }, 'EVENT_DUPLICATE_HEADER'],
    ['ce_id not UTF-8', { headers: { ...headers, ce_id: Buffer.from([0xff, 0xfe]) } }, 'EVENT_BAD_HEADER']
  ]
  for (const [name, over, code] of cases) {
    const m = s.message(over)
    const result = await s.processor.process(m)
    t.equal(result.outcome, 'dead', name)
    t.equal(result.errorCode, code, `${name}: ${code}`)
    const row = await s.db.knex('dead_letters').where({ topic: TOPIC, partition: 2, offset: m.offset }).first()
    t.match(row, { error_code: code, status: 'new', created_at: NOW }, `${name}: stored at its offset`)
    t.match(row?.error, new RegExp(`^${code}: `))
    t.same(row?.message_value === null ? null : Buffer.from(row.message_value), m.value, `${name}: value bytes kept`)
    t.same(Buffer.from(row?.message_key), leafFixture.key, `${name}: key bytes kept`)
  }
  const stored = JSON.parse((await s.db.knex('dead_letters').where({ error_code: 'EVENT_BAD_HEADER' }).first()).headers)
  t.same(stored.ce_id, { base64: Buffer.from([0xff, 0xfe]).toString('base64') }, 'a non-UTF-8 header kept as base64')
  t.equal(stored.ce_type, leafFixture.headers.ce_type)
  const dup = JSON.parse((await s.db.knex('dead_letters').where({ error_code: 'EVENT_DUPLICATE_HEADER' }).orderBy('id', 'desc').first()).headers)
  t.same(dup.ce_id, ['a', 'b'], 'repeated headers kept as arrays')
  t.equal(await s.count('passbacks'), 0)

  // The same poison record delivered again (crash before commit): one row, still resolved.
  const again = s.message({ value: Buffer.from([9]) })
  await s.processor.process(again)
  t.match(await s.processor.process({ ...again }), { outcome: 'dead', errorCode: 'EVENT_TRUNCATED' })
  t.equal(Number((await s.db.knex('dead_letters').where({ offset: again.offset }).count({ n: '*' }))[0]?.n), 1, 'idempotent on topic/partition/offset')

  // A field Avro cannot check.
  t.match(await s.processor.process(s.encoded({ modified: 'yesterday' })), { outcome: 'dead', errorCode: 'EVENT_BAD_FIELD' })
  t.match(await s.processor.process(s.encoded({ usage_id: 'block-v1:Other+C+R+type@problem+block@p' })), { outcome: 'dead', errorCode: 'GRADES_CONTENT_MISMATCH' })

  // Registry down or hanging: not the message's fault. Thrown (the consumer retries), nothing written.
  const fresh = await setup(t)
  for (const mode of ['down', 'hang'] as const) {
    fresh.registry.setMode(mode)
    await t.rejects(async () => await fresh.processor.process(fresh.message()), { code: 'EVENT_REGISTRY_UNAVAILABLE' }, `registry ${mode}`)
  }
  t.equal(await fresh.count('dead_letters'), 0)
  t.equal(await fresh.count('processed_events'), 0)
  fresh.registry.setMode('up')
  t.match(await fresh.processor.process(fresh.message()), { outcome: 'queued', jobs: 1 }, 'and it goes through once the registry is back')
})

t.test('relevance first: a learner not ours is irrelevant even with unusable metadata; an unparsable body is dead for anyone', async t => {
  const s = await setup(t)
  const headers = fixtureHeaders(leafFixture)
  const stranger = (over: Partial<WeightedScoreChanged>, extra: Partial<ConsumedMessage> = {}) => ({ ...s.encoded({ user_id: 7, ...over }), ...extra })
  await s.processor.process(s.message()) // caches the writer schema
  const queries = countQueries(s.db.knex)
  t.same(s.processor.process(stranger({}, { headers: { ...headers, ce_id: Buffer.from([0xff]) } })), { outcome: 'irrelevant' }, 'bad ce_id: not read')
  t.same(s.processor.process(stranger({}, { headers: { ...headers, ce_time: [Buffer.from('a'), Buffer.from('b')] } })), { outcome: 'irrelevant' }, 'repeated metadata header: not read')
  t.same(s.processor.process(stranger({ modified: 'yesterday' })), { outcome: 'irrelevant' }, 'bad modified: not parsed')
  t.same(s.processor.process(stranger({ weighted_earned: Number.NaN })), { outcome: 'irrelevant' }, 'NaN score: not checked')
  queries.stop()
  t.equal(queries.n, 0, 'none of them touched the database')

  const truncated = stranger({})
  const cut = { ...truncated, value: truncated.value!.subarray(0, truncated.value!.length - 10) }
  t.match(await s.processor.process(cut), { outcome: 'dead', errorCode: 'EVENT_TRUNCATED' }, 'its user id cannot be trusted: dead-lettered')
  t.match(await s.processor.process(s.message({ headers: { ...headers, ce_type: Buffer.from([0xff]) } })), { outcome: 'dead', errorCode: 'EVENT_BAD_HEADER' }, 'unreadable ce_type: dead-lettered')
  t.equal(await s.count('dead_letters'), 2)
  t.equal(await s.count('processed_events'), 1, 'only the first (relevant) record was recorded')
})

t.test('a dead-letter write that fails is a retry, not a skip', async t => {
  const s = await setup(t)
  const processor = createMessageProcessor({
    decoder: createWeightedScoreDecoder(),
    relevantUsers: { has: () => true },
    recorder: { record: async () => { throw new Error('unreachable') } },
    deadLetters: { record: async () => { throw new Error('database is down') } }
  })
  await t.rejects(async () => await processor.process(s.message({ value: Buffer.from([7]) })), /database is down/)
})
