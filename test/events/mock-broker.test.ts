import t from 'tap'
import { Kafka, Partitioners, logLevel } from 'kafkajs'
import { faultInjectionSkipReason, startMockKafka } from '../support/kafka-mock-broker.js'

// The test broker's own controls (kafka-testing.md §2.2): every command must visibly change what a
// kafkajs client sees, or fault-injection tests built on it would prove nothing.
t.setTimeout(180_000)
const skip = faultInjectionSkipReason()

function client (bootstrap: string[]) {
  return new Kafka({ clientId: 'mock-broker-test', brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 300 }, connectionTimeout: 1000 })
}

t.test('starts with the requested brokers and topics', { skip }, async t => {
  const broker = await startMockKafka({ brokers: 3, topics: [{ topic: 'three', partitions: 3 }, { topic: 'one', partitions: 1 }] })
  t.teardown(broker.stop)
  t.equal(broker.bootstrap.length, 3)
  t.ok(broker.bootstrap.every(b => /^127\.0\.0\.1:\d+$/.test(b)), 'loopback only')
  t.equal(broker.real, false)
  const admin = client(broker.bootstrap).admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  const { topics } = await admin.fetchTopicMetadata({ topics: ['three', 'one'] })
  t.same(topics.map(x => [x.name, x.partitions.length]).sort(), [['one', 1], ['three', 3]])
})

t.test('err: the next Produce request fails with the injected code', { skip }, async t => {
  const broker = await startMockKafka({ topics: [{ topic: 'faults', partitions: 1 }] })
  t.teardown(broker.stop)
  const producer = client(broker.bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await producer.send({ topic: 'faults', messages: [{ value: 'before' }] })
  // 10 = MESSAGE_TOO_LARGE: not retriable, so kafkajs surfaces it at once.
  await broker.command('err 0 10 1')
  const err = await producer.send({ topic: 'faults', messages: [{ value: 'rejected' }] }).catch((e: unknown) => e)
  t.match(err, { name: 'KafkaJSProtocolError', type: 'MESSAGE_TOO_LARGE' })
  await producer.send({ topic: 'faults', messages: [{ value: 'after' }] })
  // 6 = NOT_LEADER_OR_FOLLOWER twice: retriable, kafkajs refreshes metadata and gets through.
  await broker.command('err 0 6 2')
  const [meta] = await producer.send({ topic: 'faults', messages: [{ value: 'retried' }] })
  t.equal(meta?.errorCode, 0)
})

t.test('down / up: connections refused, then accepted again', { skip }, async t => {
  const broker = await startMockKafka({ topics: [{ topic: 'outage', partitions: 1 }] })
  t.teardown(broker.stop)
  const producer = client(broker.bootstrap).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  await producer.send({ topic: 'outage', messages: [{ value: 'up' }] })
  await broker.command('down 1')
  await t.rejects(producer.send({ topic: 'outage', timeout: 1000, messages: [{ value: 'down' }] }), 'send fails while the broker is down')
  await broker.command('up 1')
  const [meta] = await producer.send({ topic: 'outage', messages: [{ value: 'back' }] })
  t.equal(meta?.errorCode, 0, 'send works again')
})

t.test('leader: partition leadership moves', { skip }, async t => {
  const broker = await startMockKafka({ brokers: 2, topics: [{ topic: 'lead', partitions: 1 }] })
  t.teardown(broker.stop)
  const admin = client(broker.bootstrap).admin()
  await admin.connect()
  t.teardown(() => admin.disconnect())
  const leaderOf = async () => (await admin.fetchTopicMetadata({ topics: ['lead'] })).topics[0]?.partitions[0]?.leader
  const before = await leaderOf()
  const target = before === 1 ? 2 : 1
  await broker.command(`leader lead 0 ${target}`)
  t.equal(await leaderOf(), target)
})

t.test('bad commands are refused; stop is idempotent', { skip }, async t => {
  const broker = await startMockKafka()
  await t.rejects(broker.command('bogus 1'), /refused "bogus 1": ERR unknown command/)
  await t.rejects(broker.command('err 0 x 1'), /ERR errorCode must be an integer/)
  await t.rejects(broker.command('down'), /ERR brokerId must be an integer/)
  await broker.command('rtt 1 5')
  await broker.stop()
  await broker.stop()
  await t.rejects(broker.command('up 1'), /not running/)
})
