import t from 'tap'
import { ConfigError, loadConfig, secretValues } from '../../src/config.js'

const SECRET = 'x'.repeat(40)
const load = (env: Record<string, string>) => loadConfig({ SECRET_KEY: SECRET, ...env }, { envFile: false })
const problems = (env: Record<string, string>): string[] => {
  try {
    load(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('the backend follows what is configured', async t => {
  t.equal(load({}).eventBusBackend, 'none')
  t.equal(load({ KAFKA_BROKERS: 'k:9092' }).eventBusBackend, 'kafka')
  t.equal(load({ REDIS_URL: 'redis://@redis:6379/' }).eventBusBackend, 'redis', 'Tutor\'s connection URL')
  t.equal(load({ KAFKA_BROKERS: 'k:9092', REDIS_URL: 'redis://r:6379/0', EVENT_BUS_BACKEND: 'redis' }).eventBusBackend, 'redis')
})

t.test('both buses without EVENT_BUS_BACKEND is a boot error naming both', async t => {
  const found = problems({ KAFKA_BROKERS: 'k:9092', REDIS_URL: 'redis://r:6379/0' })
  t.equal(found.length, 1)
  t.match(found[0], /KAFKA_BROKERS.*REDIS_URL.*EVENT_BUS_BACKEND/)
  t.match(problems({ EVENT_BUS_BACKEND: 'redis' }), [/REDIS_URL: required/])
  t.match(problems({ EVENT_BUS_BACKEND: 'kafka' }), [/KAFKA_BROKERS: required/])
  t.match(problems({ EVENT_BUS_BACKEND: 'nats' as string }), [/EVENT_BUS_BACKEND/])
})

t.test('REDIS_URL: redis:// or rediss://, password, numeric db', async t => {
  t.same(problems({ REDIS_URL: 'rediss://:s3cret@r.example.org:6380/2' }), [])
  t.match(problems({ REDIS_URL: 'http://r:6379' }), [/REDIS_URL/])
  t.match(problems({ REDIS_URL: 'redis://r:6379/events' }), [/REDIS_URL: not a usable URL/])
  const c = load({ REDIS_URL: 'rediss://:s3cret@r.example.org:6380/2' })
  t.ok(secretValues(c).includes('s3cret'), 'the password is redacted from logs')
  t.equal(c.redisConsumerGroup, 'lti-provider', 'group defaults to KAFKA_GROUP_ID')
  t.match(c.redisConsumerName, new RegExp(`-${process.pid}$`), 'consumer name defaults to host + pid')
  const named = load({ REDIS_URL: 'redis://r/0', REDIS_CONSUMER_GROUP: 'grades', REDIS_CONSUMER_NAME: 'pod-1', KAFKA_GROUP_ID: 'k' })
  t.equal(named.redisConsumerGroup, 'grades')
  t.equal(named.redisConsumerName, 'pod-1')
})
