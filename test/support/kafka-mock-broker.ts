import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'

/**
 * A real Kafka-protocol broker for tests (kafka-testing.md §2): librdkafka's mock cluster, run by
 * mock-broker-launcher.mjs in a child process, or a real Kafka when KAFKA_TEST_BROKERS is set.
 * test/support is the one place allowed to read the environment for this.
 */
export interface MockKafkaOptions {
  /** Mock cluster size; broker ids run from 1 to `brokers`. Default 1. */
  brokers?: number
  /** Topics to pre-create (the mock serves no CreateTopics; unknown topics would get 4 partitions). */
  topics?: Array<{ topic: string, partitions: number }>
  /** Default 15 s. */
  startTimeoutMs?: number
}

export interface MockKafka {
  bootstrap: string[]
  /** True when KAFKA_TEST_BROKERS points at a real Kafka: no fault injection there. */
  real: boolean
  /** Sends a launcher command (`err 0 6 2`, `down 1`, `up 1`, `leader <topic> <p> <id>`, `rtt <id> <ms>`); rejects on `ERR`. */
  command: (cmd: string) => Promise<void>
  /** Closes the launcher's stdin and waits for it to exit. Idempotent. */
  stop: () => Promise<void>
}

const LAUNCHER = fileURLToPath(new URL('./mock-broker-launcher.mjs', import.meta.url))

function realBrokers (): string[] | undefined {
  const raw = process.env.KAFKA_TEST_BROKERS
  if (!raw) return undefined
  const list = raw.split(',').map(s => s.trim()).filter(Boolean)
  return list.length ? list : undefined
}

let availability: string | false | undefined

/**
 * `false` when a broker can be started, else the reason to show in a tap `skip`. Under CI=true a
 * missing librdkafka throws instead: CI must not pass by skipping the broker tests.
 */
export function mockKafkaSkipReason (): string | false {
  if (availability !== undefined) return availability
  if (realBrokers()) {
    availability = false
    return availability
  }
  const check = spawnSync(process.execPath, [LAUNCHER, '--check'], { encoding: 'utf8', timeout: 15_000 })
  const out = `${check.stdout ?? ''}`.trim()
  if (check.status === 0 && out === 'OK') {
    availability = false
    return availability
  }
  const reason = out.startsWith('UNAVAILABLE ')
    ? out.slice('UNAVAILABLE '.length)
    : `mock broker launcher failed (status ${check.status}): ${`${check.stderr ?? ''}`.trim().slice(0, 500)}`
  if (process.env.CI === 'true') {
    throw new Error(`Kafka test broker unavailable under CI: ${reason}`)
  }
  availability = `Kafka test broker unavailable: ${reason}`
  return availability
}

/** Skip reason for tests that need the mock's fault injection (not available on a real Kafka). */
export function faultInjectionSkipReason (): string | false {
  const reason = mockKafkaSkipReason()
  if (reason) return reason
  return realBrokers() ? 'fault injection needs the librdkafka mock; KAFKA_TEST_BROKERS points at a real Kafka' : false
}

async function startReal (bootstrap: string[], options: MockKafkaOptions): Promise<MockKafka> {
  const admin = new Kafka({ clientId: 'test-support', brokers: bootstrap, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    // createTopics resolves false (no error) when the topics already exist.
    await admin.createTopics({
      waitForLeaders: true,
      topics: (options.topics ?? []).map(({ topic, partitions }) => ({ topic, numPartitions: partitions, replicationFactor: 1 }))
    })
  } finally {
    await admin.disconnect()
  }
  return {
    bootstrap,
    real: true,
    command: async cmd => { throw new Error(`cannot run "${cmd}": KAFKA_TEST_BROKERS points at a real Kafka`) },
    stop: async () => {}
  }
}

type Launcher = ChildProcessByStdio<Writable, Readable, Readable>

export async function startMockKafka (options: MockKafkaOptions = {}): Promise<MockKafka> {
  const skip = mockKafkaSkipReason()
  if (skip) throw new Error(skip)
  const real = realBrokers()
  if (real) return startReal(real, options)

  const args = [LAUNCHER, String(options.brokers ?? 1), ...(options.topics ?? []).map(t => `${t.topic}:${t.partitions}`)]
  const child: Launcher = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-4000) })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  let running = true
  void exited.then(() => { running = false })

  const lines = createInterface({ input: child.stdout })
  const waiting: Array<{ resolve: (line: string) => void, reject: (err: Error) => void }> = []
  lines.on('line', line => waiting.shift()?.resolve(line))
  void exited.then(code => {
    for (const w of waiting.splice(0)) w.reject(new Error(`mock broker exited (code ${code}) ${stderr}`.trim()))
  })
  const nextLine = () => new Promise<string>((resolve, reject) => {
    if (!running) reject(new Error(`mock broker is not running ${stderr}`.trim()))
    else waiting.push({ resolve, reject })
  })

  const stop = async () => {
    if (running) {
      child.stdin.end()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    lines.close()
  }

  const startTimeoutMs = options.startTimeoutMs ?? 15_000
  let timer: NodeJS.Timeout | undefined
  const first = await Promise.race([
    nextLine(),
    new Promise<string>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`mock broker did not start within ${startTimeoutMs} ms`)), startTimeoutMs) })
  ]).catch(async err => { await stop(); throw err }).finally(() => clearTimeout(timer))
  if (!first.startsWith('BOOTSTRAP ')) {
    await stop()
    throw new Error(`mock broker: unexpected first line "${first}" ${stderr}`.trim())
  }
  const bootstrap = first.slice('BOOTSTRAP '.length).split(',')

  // Commands are answered in order, one line each: serialise so answers match their command.
  let queue: Promise<unknown> = Promise.resolve()
  const command = (cmd: string): Promise<void> => {
    const run = queue.then(async () => {
      const answer = nextLine()
      child.stdin.write(`${cmd}\n`)
      const line = await answer
      if (line !== 'OK') throw new Error(`mock broker refused "${cmd}": ${line}`)
    })
    queue = run.catch(() => {})
    return run
  }

  return { bootstrap, real: false, command, stop }
}
