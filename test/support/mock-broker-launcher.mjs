#!/usr/bin/env node
// librdkafka's mock Kafka cluster (Debian librdkafka1), driven through koffi (docs: kafka-testing.md §2.2).
//
// Always run as its own process: FFI inside the test process segfaulted once a kafkajs consumer
// disconnected. The test helper spawns this script, reads the first stdout line and ends it by
// closing stdin.
//
//   node mock-broker-launcher.mjs <brokers> [topic:partitions ...]
//   node mock-broker-launcher.mjs --check        exit 0 when librdkafka and its mock API load
//   env LIBRDKAFKA_PATH=/path/librdkafka.so.1    load that file instead of searching the linker path
//
// stdout, first line: `BOOTSTRAP 127.0.0.1:p1,...` (or `UNAVAILABLE <reason>` and exit 3).
// stdin, one command per line, each answered `OK` or `ERR <reason>`:
//   err <apiKey> <errorCode> <count>   the next <count> requests of that API fail with <errorCode>
//   down <brokerId> | up <brokerId>    refuse connections / accept again (-1 = all brokers)
//   leader <topic> <partition> <id>    move partition leadership (-1 = leaderless)
//   rtt <brokerId> <ms>                add latency to a broker's responses
//   quit                               (or EOF) destroy the cluster and exit 0
import { createInterface } from 'node:readline'

// LIBRDKAFKA_PATH points at a specific build (and lets a test simulate a machine without one).
const LIBRARY_NAMES = process.env.LIBRDKAFKA_PATH ? [process.env.LIBRDKAFKA_PATH] : ['librdkafka.so.1', 'librdkafka.so', 'librdkafka.1.dylib']
const RD_KAFKA_PRODUCER = 0
const RD_KAFKA_CONF_OK = 0

function unavailable (reason) {
  process.stdout.write(`UNAVAILABLE ${reason.replace(/\s+/g, ' ')}\n`)
  process.exit(3)
}

async function loadLibrary () {
  let koffi
  try {
    koffi = (await import('koffi')).default
  } catch (err) {
    unavailable(`npm koffi is not installed (${err.message})`)
  }
  const errors = []
  for (const name of LIBRARY_NAMES) {
    try {
      return { koffi, lib: koffi.load(name) }
    } catch (err) {
      errors.push(err.message)
    }
  }
  unavailable(`librdkafka is not installed (apt-get install -y librdkafka1): ${errors[0]}`)
}

function bind (koffi, lib) {
  koffi.opaque('rd_kafka_conf_t')
  koffi.opaque('rd_kafka_t')
  koffi.opaque('rd_kafka_mock_cluster_t')
  try {
    return {
      confNew: lib.func('rd_kafka_conf_t *rd_kafka_conf_new()'),
      confSet: lib.func('int rd_kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, _Out_ uint8_t *errstr, size_t errstr_size)'),
      kafkaNew: lib.func('rd_kafka_t *rd_kafka_new(int type, rd_kafka_conf_t *conf, _Out_ uint8_t *errstr, size_t errstr_size)'),
      kafkaDestroy: lib.func('void rd_kafka_destroy(rd_kafka_t *rk)'),
      clusterNew: lib.func('rd_kafka_mock_cluster_t *rd_kafka_mock_cluster_new(rd_kafka_t *rk, int broker_cnt)'),
      clusterDestroy: lib.func('void rd_kafka_mock_cluster_destroy(rd_kafka_mock_cluster_t *mcluster)'),
      bootstraps: lib.func('const char *rd_kafka_mock_cluster_bootstraps(const rd_kafka_mock_cluster_t *mcluster)'),
      topicCreate: lib.func('int rd_kafka_mock_topic_create(rd_kafka_mock_cluster_t *mcluster, const char *topic, int partition_cnt, int replication_factor)'),
      pushErrors: lib.func('void rd_kafka_mock_push_request_errors_array(rd_kafka_mock_cluster_t *mcluster, int16_t ApiKey, size_t cnt, const int32_t *errors)'),
      brokerDown: lib.func('int rd_kafka_mock_broker_set_down(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id)'),
      brokerUp: lib.func('int rd_kafka_mock_broker_set_up(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id)'),
      brokerRtt: lib.func('int rd_kafka_mock_broker_set_rtt(rd_kafka_mock_cluster_t *mcluster, int32_t broker_id, int rtt_ms)'),
      setLeader: lib.func('int rd_kafka_mock_partition_set_leader(rd_kafka_mock_cluster_t *mcluster, const char *topic, int32_t partition, int32_t broker_id)')
    }
  } catch (err) {
    unavailable(`this librdkafka has no mock cluster API (${err.message})`)
  }
}

function cString (buf) {
  const end = buf.indexOf(0)
  return buf.subarray(0, end === -1 ? buf.length : end).toString('utf8')
}

function parseArgs (argv) {
  const brokers = Number(argv[0] ?? '1')
  if (!Number.isInteger(brokers) || brokers < 1) throw new Error(`bad broker count: ${argv[0]}`)
  const topics = argv.slice(1).map(spec => {
    const at = spec.lastIndexOf(':')
    const topic = at === -1 ? spec : spec.slice(0, at)
    const partitions = at === -1 ? 1 : Number(spec.slice(at + 1))
    if (!topic || !Number.isInteger(partitions) || partitions < 1) throw new Error(`bad topic spec: ${spec}`)
    return { topic, partitions }
  })
  return { brokers, topics }
}

function int (text, name) {
  const n = Number(text)
  if (text === undefined || !Number.isInteger(n)) throw new Error(`${name} must be an integer`)
  return n
}

function runCommand (api, mc, line) {
  const [cmd, ...args] = line.trim().split(/\s+/)
  switch (cmd) {
    case 'err': {
      const [apiKey, code, count] = [int(args[0], 'apiKey'), int(args[1], 'errorCode'), int(args[2], 'count')]
      if (count < 1) throw new Error('count must be >= 1')
      api.pushErrors(mc, apiKey, count, new Int32Array(count).fill(code))
      return
    }
    case 'down':
    case 'up':
    case 'rtt': {
      const id = int(args[0], 'brokerId')
      const rc = cmd === 'down' ? api.brokerDown(mc, id) : cmd === 'up' ? api.brokerUp(mc, id) : api.brokerRtt(mc, id, int(args[1], 'ms'))
      if (rc !== 0) throw new Error(`librdkafka error ${rc}`)
      return
    }
    case 'leader': {
      if (!args[0]) throw new Error('topic is required')
      const rc = api.setLeader(mc, args[0], int(args[1], 'partition'), int(args[2], 'brokerId'))
      if (rc !== 0) throw new Error(`librdkafka error ${rc}`)
      return
    }
    default:
      throw new Error(`unknown command: ${cmd}`)
  }
}

async function main () {
  const argv = process.argv.slice(2)
  const { koffi, lib } = await loadLibrary()
  const api = bind(koffi, lib)
  if (argv[0] === '--check') {
    process.stdout.write('OK\n')
    return
  }
  const { brokers, topics } = parseArgs(argv)

  const errstr = Buffer.alloc(512)
  const conf = api.confNew()
  // Level 3 hides a configuration notice about the bookkeeping handle on stderr.
  if (api.confSet(conf, 'log_level', '3', errstr, errstr.length) !== RD_KAFKA_CONF_OK) throw new Error(cString(errstr))
  const rk = api.kafkaNew(RD_KAFKA_PRODUCER, conf, errstr, errstr.length)
  if (!rk) throw new Error(`rd_kafka_new: ${cString(errstr)}`)
  const mc = api.clusterNew(rk, brokers)
  if (!mc) throw new Error('rd_kafka_mock_cluster_new failed')
  for (const { topic, partitions } of topics) {
    const rc = api.topicCreate(mc, topic, partitions, 1)
    if (rc !== 0) throw new Error(`rd_kafka_mock_topic_create(${topic}): error ${rc}`)
  }

  let closed = false
  const shutdown = () => {
    if (closed) return
    closed = true
    api.clusterDestroy(mc)
    api.kafkaDestroy(rk)
    process.exit(0)
  }

  const rl = createInterface({ input: process.stdin })
  rl.on('line', line => {
    if (line.trim() === '') return
    if (line.trim() === 'quit') {
      process.stdout.write('OK\n', shutdown)
      return
    }
    try {
      runCommand(api, mc, line)
      process.stdout.write('OK\n')
    } catch (err) {
      process.stdout.write(`ERR ${err.message}\n`)
    }
  })
  rl.on('close', shutdown)
  process.on('SIGTERM', shutdown)
  process.stdout.write(`BOOTSTRAP ${api.bootstraps(mc)}\n`)
}

main().catch(err => {
  process.stderr.write(`mock-broker-launcher: ${err.stack ?? err}\n`)
  process.exit(1)
})
