import t from 'tap'
import { logLevel } from 'kafkajs'
import { createKafka, kafkaConnectionFromConfig } from '../../../src/events/consumer/kafka-client.js'
import { isConsumerHealthy, isStalled } from '../../../src/events/consumer/event-consumer.js'
import { testConfig } from '../../helpers/build-app.js'

t.test('KAFKA_* settings: brokers, client id, TLS and SASL', async t => {
  t.same(kafkaConnectionFromConfig(testConfig({ KAFKA_BROKERS: 'a:9092, b:9092' })), { brokers: ['a:9092', 'b:9092'], clientId: 'openedx-lti-provider', ssl: false, sasl: undefined })
  const secured = kafkaConnectionFromConfig(testConfig({
    KAFKA_BROKERS: 'kafka.example.com:9093', KAFKA_SSL: 'true', KAFKA_CLIENT_ID: 'lti', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'lti', KAFKA_SASL_PASSWORD: 'pw'
  }))
  t.same(secured, { brokers: ['kafka.example.com:9093'], clientId: 'lti', ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'lti', password: 'pw' } })
})

t.test('kafkajs log lines go to our logger at their level, without the password', async t => {
  const lines: Array<[string, string, object]> = []
  const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map(level => [level, (obj: object, msg: string) => { lines.push([level, msg, obj]) }])) as unknown as Parameters<typeof createKafka>[1]
  const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'c', ssl: false, sasl: { mechanism: 'plain', username: 'u', password: 'secret-pw' } }, logger, logLevel.DEBUG)
  kafka.logger().error('boom', { broker: 'b1' })
  kafka.logger().warn('careful')
  kafka.logger().info('note')
  kafka.logger().debug('detail')
  t.same(lines.map(([level, msg]) => [level, msg]), [['error', 'boom'], ['warn', 'careful'], ['info', 'note'], ['debug', 'detail']])
  t.match(lines[0]?.[2], { broker: 'b1' })
  t.notMatch(JSON.stringify(lines), /secret-pw/)
})

t.test('readiness: only a consumer that joined its group (running) is healthy', async t => {
  const now = 1_000_000
  const at = (state: Parameters<typeof isConsumerHealthy>[0]['state']) => isConsumerHealthy({ state, since: 0, crashes: 0, lastProgressAt: now - 1000, stallAfterMs: 30_000 }, now)
  t.same(['idle', 'starting', 'running', 'restarting', 'crashed', 'stopping', 'stopped'].map(s => at(s as never)), [false, false, true, false, false, false, false])
})

t.test('readiness: a running consumer without a fetch or heartbeat for a session timeout is stalled', async t => {
  const now = 1_000_000
  const status = (quietMs: number) => ({ state: 'running' as const, since: 0, crashes: 0, lastProgressAt: now - quietMs, stallAfterMs: 30_000 })
  t.equal(isConsumerHealthy(status(29_999), now), true, 'quiet for less than the session timeout: healthy')
  t.equal(isStalled(status(30_000), now), true)
  t.equal(isConsumerHealthy(status(30_000), now), false, 'quiet for a whole session timeout: not ready')
  t.equal(isStalled({ ...status(60_000), state: 'restarting' }, now), false, 'only a running consumer is called stalled (the others are unhealthy anyway)')
})
