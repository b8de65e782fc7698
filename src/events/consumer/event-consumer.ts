import { logLevel, type Consumer, type Kafka } from 'kafkajs'
import { Backoff } from './backoff.js'
import { createBatchHandler } from './batch-handler.js'
import type { ConsumerMetrics } from './consumer-metrics.js'
import { createKafka, type ConsumerLogger, type KafkaConnection } from './kafka-client.js'
import type { MessageProcessor, ProcessResult } from './message-processor.js'
import type { Config } from '../../config.js'

/** kafkajs timings and our retry pacing; tests lower them (kafka-testing.md §2.4). */
export interface ConsumerTuning {
  /** kafkajs defaults 30000 / 60000 / 3000. */
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  /** Fetch long-poll (KAFKA_MAX_WAIT_MS); default 500, as the Java client and librdkafka (kafkajs' own is 5000). */
  maxWaitTimeInMs?: number
  /** Commit resolved offsets at least this often inside long batches; default 5000. */
  autoCommitInterval?: number
  /** false: never commit (a throwaway replay group leaves no offsets behind); default true. */
  commitOffsets?: boolean
  partitionsConsumedConcurrently?: number
  /** kafkajs' own retries of broker requests. */
  retry?: { initialRetryTime?: number, retries?: number, maxRetryTime?: number }
  /** Pause before a record whose processing failed is tried again; default 1 s doubling to 60 s. */
  recordRetry?: { initialMs?: number, maxMs?: number }
  /** Pause before the consumer is rebuilt after a crash kafkajs does not recover from; default 1 s to 60 s. */
  restart?: { initialMs?: number, maxMs?: number }
}

export interface EventConsumerOptions {
  connection: KafkaConnection
  groupId: string
  topic: string
  /** A new group starts at the earliest offset (KAFKA_FROM_BEGINNING). */
  fromBeginning: boolean
  processor: MessageProcessor
  logger: ConsumerLogger
  metrics?: ConsumerMetrics | undefined
  tuning?: ConsumerTuning | undefined
  kafkaLogLevel?: logLevel | undefined
  /** Runs each time the consumer has joined its group (replay seeks here). */
  onRunning?: ((consumer: Consumer) => void | Promise<void>) | undefined
  onResolved?: ((topic: string, partition: number, offset: string, result: ProcessResult) => void) | undefined
}

/**
 * `starting` first connect and join; `running` joined and fetching; `restarting` recovering from a
 * crash (kafkajs restarting itself, or our rebuild) until the group is joined again; `crashed`
 * waiting for the rebuild after a crash kafkajs gave up on; `stopped` closed on purpose.
 */
export type ConsumerState = 'idle' | 'starting' | 'running' | 'restarting' | 'crashed' | 'stopping' | 'stopped'

export interface ConsumerStatus {
  state: ConsumerState
  since: number
  crashes: number
  /** Last crash reason (error name and message; no payloads). */
  lastError?: string | undefined
  /** Last fetch, heartbeat, batch or group join (epoch ms). */
  lastProgressAt: number
  /** No progress for this long while running = stalled (the session timeout). */
  stallAfterMs: number
}

export interface EventConsumer {
  /** Connects, subscribes and joins the group; failures are retried in the background (see status). */
  start: () => Promise<void>
  /** Leaves the group after the batch in flight; clears every timer. */
  stop: () => Promise<void>
  status: () => ConsumerStatus
}

const HEALTHY: ReadonlySet<ConsumerState> = new Set(['running'])

/** The KAFKA_* group timings and long-poll; the service consumer and `events replay` use the same. */
export function consumerTuningFromConfig (config: Config): ConsumerTuning {
  return {
    maxWaitTimeInMs: config.KAFKA_MAX_WAIT_MS,
    sessionTimeout: config.KAFKA_SESSION_TIMEOUT_MS,
    rebalanceTimeout: config.KAFKA_REBALANCE_TIMEOUT_MS,
    heartbeatInterval: config.KAFKA_HEARTBEAT_INTERVAL_MS
  }
}

/**
 * Readiness: only a consumer that has joined its group is ready; starting, restarting or crashed
 * fail /ready (style.md §5). A joined consumer that has neither fetched nor heartbeated for a whole
 * session timeout is stalled (kafkajs can loop on rejoins after some broker errors while its state
 * still says running) and fails too.
 */
export function isConsumerHealthy (status: ConsumerStatus, now = Date.now()): boolean {
  return HEALTHY.has(status.state) && !isStalled(status, now)
}

export function isStalled (status: ConsumerStatus, now = Date.now()): boolean {
  return status.state === 'running' && now - status.lastProgressAt >= status.stallAfterMs
}

function reason (err: unknown): string {
  const e = err as { name?: string, message?: string } | null
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 300)
}

export function createEventConsumer (options: EventConsumerOptions): EventConsumer {
  const tuning = options.tuning ?? {}
  const { logger, metrics } = options
  // The same retry pacing for the client's connections: a consumer's `retry` alone leaves reconnects to kafkajs' defaults.
  const kafka: Kafka = createKafka(options.connection, logger, options.kafkaLogLevel ?? logLevel.WARN, tuning.retry)
  const recordBackoff = new Backoff(tuning.recordRetry)
  const restartBackoff = new Backoff(tuning.restart)
  const resumeTimers = new Set<NodeJS.Timeout>()
  const heartbeatInterval = tuning.heartbeatInterval ?? 3000
  let consumer: Consumer | undefined
  let restartTimer: NodeJS.Timeout | undefined
  let stopping = false
  let launching: Promise<void> | undefined
  const stallAfterMs = tuning.sessionTimeout ?? 30_000
  let status: ConsumerStatus = { state: 'idle', since: Date.now(), crashes: 0, lastProgressAt: Date.now(), stallAfterMs }

  const setState = (state: ConsumerState, lastError?: string) => {
    const at = Date.now()
    status = { state, since: at, crashes: status.crashes, lastError: lastError ?? status.lastError, lastProgressAt: state === 'running' ? at : status.lastProgressAt, stallAfterMs }
  }

  const eachBatch = createBatchHandler({
    processor: options.processor,
    logger,
    metrics,
    backoff: recordBackoff,
    heartbeatEveryMs: heartbeatInterval,
    onResolved: options.onResolved,
    scheduleResume (delayMs, resume) {
      const timer = setTimeout(() => {
        resumeTimers.delete(timer)
        try {
          resume()
        } catch (err) {
          // The consumer stopped or crashed meanwhile: a new assignment starts unpaused anyway.
          logger.debug({ err: reason(err) }, 'event consumer: resume after stop ignored')
        }
      }, delayMs)
      resumeTimers.add(timer)
    }
  })

  function scheduleRestart (): void {
    if (stopping || restartTimer) return
    const delayMs = restartBackoff.next('consumer')
    logger.warn({ retryInMs: delayMs }, 'event consumer: rebuilding the consumer after a crash')
    restartTimer = setTimeout(() => {
      restartTimer = undefined
      void tracked(true)
    }, delayMs)
  }

  function build (): Consumer {
    const created = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: tuning.sessionTimeout ?? 30_000,
      rebalanceTimeout: tuning.rebalanceTimeout ?? 60_000,
      heartbeatInterval,
      maxWaitTimeInMs: tuning.maxWaitTimeInMs ?? 500,
      retry: {
        ...tuning.retry,
        // Retriable crashes: kafkajs restarts by itself; readiness reports `restarting` meanwhile.
        restartOnFailure: async () => true
      }
    })
    const { GROUP_JOIN, CRASH, FETCH, HEARTBEAT, START_BATCH_PROCESS } = created.events
    const progressed = () => { if (consumer === created) status.lastProgressAt = Date.now() }
    created.on(FETCH, progressed)
    created.on(HEARTBEAT, progressed)
    created.on(START_BATCH_PROCESS, progressed)
    created.on(GROUP_JOIN, () => {
      if (consumer !== created || stopping) return
      restartBackoff.reset('consumer')
      setState('running')
    })
    created.on(CRASH, ({ payload }) => {
      if (consumer !== created || stopping) return
      metrics?.crash()
      status = { ...status, crashes: status.crashes + 1 }
      const why = reason(payload.error)
      logger.error({ error: why, restart: payload.restart }, 'event consumer: crashed')
      if (payload.restart) {
        setState('restarting', why)
      } else {
        setState('crashed', why)
        scheduleRestart()
      }
    })
    return created
  }

  async function launch (afterCrash: boolean): Promise<void> {
    if (stopping) return
    const created = build()
    consumer = created
    // A rebuild after a crash stays unhealthy until it has joined: Kafka may still be unreachable.
    setState(afterCrash ? 'restarting' : 'starting')
    // stop() may come at any await below: the consumer built here is then left and closed, never run.
    const abandoned = () => stopping || consumer !== created
    try {
      await created.connect()
      if (abandoned()) return await created.disconnect()
      await created.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning })
      if (abandoned()) return await created.disconnect()
      await created.run({
        eachBatchAutoResolve: false,
        autoCommit: tuning.commitOffsets ?? true,
        autoCommitInterval: tuning.autoCommitInterval ?? 5000,
        partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently ?? 1,
        eachBatch
      })
      if (abandoned()) return await created.disconnect()
      if (status.state === 'running') await options.onRunning?.(created)
    } catch (err) {
      if (abandoned()) {
        await created.disconnect().catch(() => {})
        return
      }
      metrics?.crash()
      status = { ...status, crashes: status.crashes + 1 }
      setState('crashed', reason(err))
      logger.error({ error: reason(err) }, 'event consumer: could not start')
      await created.disconnect().catch(() => {})
      scheduleRestart()
    }
  }

  function tracked (afterCrash: boolean): Promise<void> {
    const run = launch(afterCrash).finally(() => { if (launching === run) launching = undefined })
    launching = run
    return run
  }

  return {
    async start () {
      // One life per instance: after stop() a new consumer is built, never this one restarted.
      if (stopping || consumer !== undefined) return
      logger.info({ topic: options.topic, groupId: options.groupId, brokers: options.connection.brokers }, 'event consumer: starting')
      await tracked(false)
    },

    async stop () {
      stopping = true
      if (restartTimer) clearTimeout(restartTimer)
      restartTimer = undefined
      for (const timer of resumeTimers) clearTimeout(timer)
      resumeTimers.clear()
      const current = consumer
      consumer = undefined
      setState('stopping')
      // disconnect() waits for the batch in flight, whose outbound calls are all bounded.
      await current?.disconnect().catch((err: unknown) => logger.warn({ error: reason(err) }, 'event consumer: disconnect failed'))
      await launching
      setState('stopped')
    },

    status: () => status
  }
}
