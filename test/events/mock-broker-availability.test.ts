import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Without librdkafka the broker tests must fail loudly in CI and skip with a visible reason elsewhere.
// Simulated in a child process (the answer is cached per process) with a library path that does not exist.
const helper = fileURLToPath(new URL('../support/kafka-mock-broker.ts', import.meta.url))
const script = `import { mockKafkaSkipReason } from ${JSON.stringify(helper)}
try { console.log('REASON ' + JSON.stringify(mockKafkaSkipReason())) } catch (err) { console.log('THROWN ' + err.message) }`

function probe (env: Record<string, string>): string {
  const { KAFKA_TEST_BROKERS: _real, CI: _ci, ...inherited } = process.env
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...inherited, ...env }, timeout: 60_000
  })
  return `${res.stdout}`.trim().split('\n').pop() ?? `${res.stderr}`
}

t.test('librdkafka present: no skip', async t => {
  t.equal(probe({}), 'REASON false')
})

t.test('librdkafka missing outside CI: skip with the install hint', async t => {
  t.match(probe({ LIBRDKAFKA_PATH: '/nonexistent/librdkafka.so.1' }), /^REASON "Kafka test broker unavailable: librdkafka is not installed \(apt-get install -y librdkafka1\)/)
})

t.test('librdkafka missing under CI=true: throws', async t => {
  t.match(probe({ LIBRDKAFKA_PATH: '/nonexistent/librdkafka.so.1', CI: 'true' }), /^THROWN Kafka test broker unavailable under CI: librdkafka is not installed/)
})

t.test('KAFKA_TEST_BROKERS (a real Kafka) needs no librdkafka', async t => {
  t.equal(probe({ LIBRDKAFKA_PATH: '/nonexistent/librdkafka.so.1', CI: 'true', KAFKA_TEST_BROKERS: '127.0.0.1:9092' }), 'REASON false')
})
