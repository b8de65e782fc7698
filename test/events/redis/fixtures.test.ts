/**
 * The entries Open edX's edx-event-bus-redis producer wrote (test/fixtures/event-bus-redis) decode
 * to the manifest's Avro record, both from the fixture bytes and after a round trip through a real
 * redis-server read binary-safe with XREADGROUP.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { createWeightedScoreDecoder, SCHEMALESS_SCHEMA_ID } from '../../../src/events/decode/weighted-score-decoder.js'
import { entryToMessage, type RawStreamEntry } from '../../../src/events/redis/redis-entry.js'
import { loadRedisFixtures } from '../../support/redis-event-fixtures.js'
import { redisSkipReason, startRedisServer } from '../../support/redis-server.js'

const fixtures = loadRedisFixtures()
const decoder = createWeightedScoreDecoder({ framing: 'schemaless' })

t.test('every manifest entry decodes to its Avro record, metadata as the upstream consumer read it', async t => {
  t.equal(fixtures.entries.length, 4)
  for (const entry of fixtures.entries) {
    const message = entryToMessage(entry.stream, entry.entryId, entry.fields)
    t.equal(decoder.classifyType(message.headers).kind, 'ours', `${entry.file}: our type`)
    t.equal(decoder.userIdOf(message.value), entry.record.problem_score.user_id, `${entry.file}: user id before the full decode`)
    const decoded = await decoder.decode(message)
    if (decoded.kind !== 'event') throw new Error('not an event')
    t.same(decoded.event, entry.record.problem_score, `${entry.file}: ${entry.description}`)
    t.equal(decoded.schemaId, SCHEMALESS_SCHEMA_ID)
    t.match(decoded.headers, { ce_type: entry.metadata.event_type, ce_id: entry.metadata.id, ce_source: entry.metadata.source, ce_time: entry.metadata.time, sourcehost: entry.metadata.sourcehost })
  }
})

t.test('unusable entries fail with the Kafka path\'s codes', async t => {
  const base = fixtures.entries[0]!
  const without = (name: string) => base.fields.flatMap((v, i, all) => i % 2 === 0 && v === name ? [] : i % 2 === 1 && all[i - 1] === name ? [] : [v])
  await t.rejects(decoder.decode(entryToMessage('s', '1-0', without('id'))), { code: 'EVENT_MISSING_HEADER' }, 'no id: no dedupe key')
  t.equal(decoder.classifyType(entryToMessage('s', '1-0', without('type')).headers).kind, 'error', 'no type')
  t.throws(() => decoder.userIdOf(entryToMessage('s', '1-0', without('event_data')).value), { code: 'EVENT_TRUNCATED' }, 'no event_data')
  const twice = entryToMessage('s', '1-0', [...base.fields, 'id', 'other-id'])
  await t.rejects(decoder.decode(twice), { code: 'EVENT_DUPLICATE_HEADER' }, 'an id written twice')
  t.same(entryToMessage('s', '1-0', [...without('sourcehost'), 'sourcehost', '']).headers?.sourcehost, undefined, 'an empty value counts as missing')
})

t.test('written to a real Redis and read back binary-safe, the bytes are unchanged', { skip: redisSkipReason() }, async t => {
  const redis = await startRedisServer()
  t.teardown(() => redis.destroy())
  const client = new Redis(redis.url, { lazyConnect: true })
  await client.connect()
  t.teardown(() => client.disconnect())
  for (const entry of fixtures.entries) await client.call('XADD', fixtures.stream, '*', ...entry.fields)
  await client.call('XGROUP', 'CREATE', fixtures.stream, 'fixture-check', '0')
  const reply = await client.callBuffer('XREADGROUP', 'GROUP', 'fixture-check', 'c1', 'COUNT', '10', 'STREAMS', fixtures.stream, '>') as Array<[Buffer, RawStreamEntry[]]>
  const entries = reply[0]![1]
  t.equal(entries.length, fixtures.entries.length)
  for (const [i, [id, fields]] of entries.entries()) {
    const decoded = await decoder.decode(entryToMessage(fixtures.stream, String(id), fields!))
    if (decoded.kind !== 'event') throw new Error('not an event')
    t.same(decoded.event, fixtures.entries[i]!.record.problem_score, fixtures.entries[i]!.file)
  }
})
