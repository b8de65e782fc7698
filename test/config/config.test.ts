import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, INSECURE_DEV_SECRET, loadConfig, parseTrustProxy } from '../../src/config.js'

const SECRET = 'x'.repeat(40)

t.test('defaults of the contract', async t => {
  const c = loadConfig({ SECRET_KEY: SECRET }, { envFile: false })
  t.equal(c.PORT, 3000)
  t.equal(c.HOST, '127.0.0.1')
  t.equal(c.PUBLIC_URL, 'http://localhost:3000')
  t.equal(c.DATABASE_URL, 'sqlite:./data/lti-provider.sqlite')
  t.equal(c.LMS_SESSION_HANDOFF, 'relay')
  t.equal(c.KAFKA_GROUP_ID, 'lti-provider')
  t.equal(c.eventBusTopic, 'learning-problem-score-lifecycle')
  t.equal(c.LTI_AGGREGATE_SCORE_PASSBACK_DELAY, 900)
  t.equal(c.OUTBOUND_ALLOW_LOOPBACK_HTTP, false)
  t.equal(c.ADMIN_TOKEN, undefined)
  t.same(c.kafkaBrokers, [])
})

t.test('topic prefix follows the Open edX rule', async t => {
  const c = loadConfig({ SECRET_KEY: SECRET, EVENT_BUS_TOPIC_PREFIX: 'prod', KAFKA_BROKERS: 'a:9092, b:9092' }, { envFile: false })
  t.equal(c.eventBusTopic, 'prod-learning-problem-score-lifecycle')
  t.same(c.kafkaBrokers, ['a:9092', 'b:9092'])
})

t.test('SECRET_KEY is required in production, optional in test/demo', async t => {
  t.throws(() => loadConfig({}, { envFile: false }), /SECRET_KEY: required/)
  t.equal(loadConfig({ NODE_ENV: 'demo' }, { envFile: false }).secretKey, INSECURE_DEV_SECRET)
})

t.test('bad values are named, values never echoed', async t => {
  const err = t.throws(() => loadConfig({
    SECRET_KEY: SECRET, PORT: 'eighty', DATABASE_URL: 'postgres://u:supersecretpw@h/db', ADMIN_TOKEN: 'short-token', KAFKA_SSL: 'maybe'
  }, { envFile: false })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.match(err.message, /PORT:/)
  t.match(err.message, /DATABASE_URL: unknown scheme/)
  t.match(err.message, /ADMIN_TOKEN:.*32/)
  t.match(err.message, /KAFKA_SSL:/)
  t.notMatch(err.message, /supersecretpw|short-token/)
})

t.test('cross-variable rules', async t => {
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, LMS_URL: 'https://lms.example.edu' }, { envFile: false }), /set all three or none/)
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, LMS_URL: 'https://lms', LMS_CLIENT_ID: 'a', LMS_CLIENT_SECRET: 'b' }, { envFile: false }), /LMS_RELAY_CONSUMER_KEY/)
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true' }, { envFile: false }), /OUTBOUND_ALLOW_LOOPBACK_HTTP/)
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, PUBLIC_URL: 'https://lti.example.edu/sub' }, { envFile: false }), /PUBLIC_URL/)
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, KAFKA_SASL_MECHANISM: 'plain' }, { envFile: false }), /KAFKA_SASL_USERNAME/)
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000' }, { envFile: false }), /KAFKA_HEARTBEAT_INTERVAL_MS/)
  t.throws(() => loadConfig({ SECRET_KEY: SECRET, TRUST_PROXY: '2' }, { envFile: false }), /TRUST_PROXY/)
})

t.test('TRUST_PROXY: false, true, or the proxies\' addresses', async t => {
  t.equal(loadConfig({ SECRET_KEY: SECRET }, { envFile: false }).trustProxy, false, 'default: trust no header')
  t.equal(loadConfig({ SECRET_KEY: SECRET, TRUST_PROXY: 'true' }, { envFile: false }).trustProxy, true)
  t.same(loadConfig({ SECRET_KEY: SECRET, TRUST_PROXY: '10.0.0.0/8, fd00::/8,loopback' }, { envFile: false }).trustProxy, ['10.0.0.0/8', 'fd00::/8', 'loopback'])
  for (const bad of ['2', 'yes', '10.0.0.0/33', '10.0.0.0/8/1', 'proxy.example.org', '::1/129', ',']) {
    t.equal(parseTrustProxy(bad), undefined, `${JSON.stringify(bad)} is refused`)
  }
  t.equal(parseTrustProxy('FALSE'), false)
})

t.test('.env fills only what the environment leaves unset', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
  const file = join(dir, '.env')
  writeFileSync(file, `SECRET_KEY=${SECRET}\nPORT=4000\nHOST=0.0.0.0\nADMIN_TOKEN=\n`)
  const c = loadConfig({ PORT: '5000' }, { envFile: file })
  t.equal(c.PORT, 5000)
  t.equal(c.HOST, '0.0.0.0')
  t.equal(c.ADMIN_TOKEN, undefined, 'an empty value means unset')
  t.equal(c.secretKey, SECRET)
})
