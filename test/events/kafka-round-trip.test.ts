import t from 'tap'
import { spawnSync } from 'node:child_process'
import { Kafka, Partitioners, logLevel, type Consumer, type IHeaders, type Producer } from 'kafkajs'
import { createWeightedScoreDecoder, type DecodeResult } from '../../src/events/decode/weighted-score-decoder.js'
import { createSchemaRegistryClient } from '../../src/events/decode/schema-registry-client.js'
import { fullTopicName } from '../../src/events/decode/event-type.js'
import { OPEN_EDX_HEADER_NAMES } from '../../src/events/decode/open-edx-headers.js'
import { fixtureHeaders, loadEventBusFixtures } from '../support/event-bus-fixtures.js'
import { startFakeSchemaRegistry } from '../support/fake-schema-registry.js'
import { mockKafkaSkipReason, startMockKafka } from '../support/kafka-mock-broker.js'

// Group joins against a broker take seconds (kafka-testing.md §2.4).
t.setTimeout(180_000)

const manifest = loadEventBusFixtures()
const skip = mockKafkaSkipReason()
const OTHER_TYPE = 'org.openedx.enterprise.subsidy.redemption-reversed.v1'

interface Received {
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers: IHeaders
}

/** Consumer settings for tests: short session so joins and leaves do not wait 30 s. */
function testConsumer (kafka: Kafka, groupId: string): Consumer {
  return kafka.consumer({ groupId, sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100, retry: { retries: 3 } })
}

async function consumeUntil (consumer: Consumer, topic: string, count: number, timeoutMs: number): Promise<Received[]> {
  const received: Received[] = []
  let done!: () => void
  const enough = new Promise<void>(resolve => { done = resolve })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers ?? {} })
      if (received.length >= count) done()
    }
  })
  let timer: NodeJS.Timeout | undefined
  await Promise.race([
    enough,
    new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`only ${received.length}/${count} messages within ${timeoutMs} ms`)), timeoutMs) })
  ]).finally(() => clearTimeout(timer))
  return received
}

t.test('fixtures produced with kafkajs come back byte for byte and decode', { skip }, async t => {
  const topic = fullTopicName(`rt${Date.now()}`)
  const broker = await startMockKafka({ brokers: 3, topics: [{ topic, partitions: 3 }] })
  t.teardown(broker.stop)
  const registry = await startFakeSchemaRegistry({ schemas: { [manifest.value_schema_id]: manifest.value_schema } })
  t.teardown(registry.close)

  const kafka = new Kafka({ clientId: 'round-trip-test', brokers: broker.bootstrap, logLevel: logLevel.NOTHING })
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  t.teardown(() => producer.disconnect())

  const fixtures = manifest.messages.map(m => ({ key: m.key, value: m.value, headers: fixtureHeaders(m) }))
  const leafHeaders = fixtureHeaders(manifest.messages[0]!)
  const extra = [
    // Another type on the same topic with a payload no decoder could read.
    { key: Buffer.from('k-other'), value: Buffer.from('{"not": "avro"}'), headers: { ...leafHeaders, ce_type: Buffer.from(OTHER_TYPE), ce_id: Buffer.from('other-1') } },
    // kafkajs writes an array as repeated headers; the broker must hand both back.
    { key: Buffer.from('k-dup'), value: manifest.messages[0]!.value, headers: { ...leafHeaders, ce_id: [Buffer.from('dup-1'), Buffer.from('dup-2')] } }
  ]
  await producer.send({ topic, acks: -1, messages: [...fixtures, ...extra] })

  const consumer = testConsumer(kafka, `rt-${Date.now()}`)
  t.teardown(() => consumer.disconnect())
  const received = await consumeUntil(consumer, topic, fixtures.length + extra.length, 60_000)
  t.equal(received.length, fixtures.length + extra.length)

  const byKeyValue = (key: Buffer, value: Buffer) => received.find(r => r.key?.equals(key) && r.value?.equals(value))
  const bundled = createWeightedScoreDecoder()
  const viaRegistry = createWeightedScoreDecoder({ registry: createSchemaRegistryClient({ url: registry.url }) })

  for (const m of manifest.messages) {
    const r = byKeyValue(m.key, m.value)
    t.ok(r, `${m.name}: key and value bytes unchanged`)
    if (!r) continue
    t.same(Object.keys(r.headers), [...OPEN_EDX_HEADER_NAMES], `${m.name}: the ten headers, in order`)
    for (const name of OPEN_EDX_HEADER_NAMES) {
      t.equal((r.headers[name] as Buffer).toString('utf8'), m.headers[name], `${m.name}: ${name}`)
    }
    for (const [label, decoder] of [['bundled', bundled], ['registry', viaRegistry]] as const) {
      const result: DecodeResult = await decoder.decode({ headers: r.headers, value: r.value })
      t.same(result.kind === 'event' && result.event, m.decoded, `${m.name}: decoded (${label})`)
      t.equal(result.kind === 'event' && result.headers.ce_id, m.headers.ce_id, `${m.name}: ce_id (${label})`)
    }
  }
  t.equal(registry.counters.byId.get(manifest.value_schema_id), 1, 'one registry lookup for the whole topic')

  // The LMS keys by user id so one learner's changes stay ordered in one partition.
  const user42 = manifest.messages.filter(m => m.decoded.user_id === 42).map(m => byKeyValue(m.key, m.value)!)
  t.equal(user42.length, 2)
  t.equal(user42[0]!.partition, user42[1]!.partition, 'same key, same partition')
  t.ok(BigInt(user42[0]!.offset) < BigInt(user42[1]!.offset), 'in production order')

  const other = received.find(r => r.key?.toString() === 'k-other')!
  t.same(await viaRegistry.decode({ headers: other.headers, value: other.value }), { kind: 'other-type', eventType: OTHER_TYPE }, 'foreign type skipped')
  const dup = received.find(r => r.key?.toString() === 'k-dup')!
  t.same(dup.headers.ce_id, [Buffer.from('dup-1'), Buffer.from('dup-2')], 'repeated header survives the broker as an array')
  await t.rejects(viaRegistry.decode({ headers: dup.headers, value: dup.value }), { code: 'EVENT_DUPLICATE_HEADER' })
  t.equal(registry.counters.requests, 1, 'neither the foreign nor the duplicate message reached the registry')

  const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' })
  t.test('librdkafka (kcat, check.crcs=true) reads what kafkajs produced', { skip: kcat.error ? `kcat not installed: ${kcat.error.message}` : false }, async t => {
    const res = spawnSync('kcat', ['-b', broker.bootstrap.join(','), '-X', 'broker.address.family=v4', '-X', 'check.crcs=true',
      '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%p|%o|%K|%S|%h\\n'], { encoding: 'latin1', timeout: 30_000 })
    t.equal(res.status, 0, `kcat exit status (stderr: ${res.stderr})`)
    t.notMatch(res.stderr, /CRC|ERROR/i, 'no CRC or other errors')
    const lines = res.stdout.split('\n').filter(Boolean)
    t.equal(lines.length, received.length, 'every record read')
    for (const m of manifest.messages) {
      const line = lines.find(l => l.includes(`ce_id=${m.headers.ce_id}`))
      t.ok(line, `${m.name}: found by ce_id`)
      const [, , keyLength, valueLength, headers] = line!.split('|')
      t.equal(Number(keyLength), m.key.length, `${m.name}: key length`)
      t.equal(Number(valueLength), m.value.length, `${m.name}: value length`)
      t.match(headers, `ce_type=${manifest.event_type}`, `${m.name}: ce_type header`)
    }
  })
})
