import type { EachBatchPayload } from 'kafkajs'
import { isAppError } from '../../errors.js'
import type { Backoff } from './backoff.js'
import type { ConsumerMetrics } from './consumer-metrics.js'
import type { ConsumerLogger } from './kafka-client.js'
import type { MessageProcessor, ProcessResult } from './message-processor.js'

export interface BatchHandlerOptions {
  processor: MessageProcessor
  logger: ConsumerLogger
  backoff: Backoff
  /** Arms a timer that resumes a paused partition; the consumer clears them all on stop. */
  scheduleResume: (delayMs: number, resume: () => void) => void
  /** Heartbeats sent while one record is being processed (LMS calls can outlast a session). */
  heartbeatEveryMs: number
  metrics?: ConsumerMetrics | undefined
  /** Called after each record's offset was resolved (replay progress). */
  onResolved?: ((topic: string, partition: number, offset: string, result: ProcessResult) => void) | undefined
}

function errorFields (err: unknown): Record<string, unknown> {
  if (isAppError(err)) return { code: err.code, details: err.details }
  const e = err as { name?: string, message?: string, code?: string } | null
  return { errorName: e?.name, code: e?.code, message: e?.message?.slice(0, 300) }
}

/** Runs `work`, heartbeating meanwhile; a heartbeat failure (rebalance) is handed back, not thrown mid-work. */
async function withHeartbeats<T> (heartbeat: () => Promise<void>, everyMs: number, work: () => Promise<T>): Promise<{ value: T, heartbeatError: unknown }> {
  let heartbeatError: unknown
  const timer = setInterval(() => {
    heartbeat().catch((err: unknown) => { heartbeatError ??= err })
  }, everyMs)
  try {
    return { value: await work(), heartbeatError }
  } finally {
    clearInterval(timer)
  }
}

/**
 * kafkajs `eachBatch` with `eachBatchAutoResolve: false` (style.md §5, habit 6): records in order,
 * the offset resolved only after the processor resolved (its database transaction committed), a
 * heartbeat after each record, offsets committed when due. When a record must be retried (registry,
 * LMS or database unavailable) the partition is paused, the batch stops there without resolving
 * that offset, and the partition resumes after a backoff: kafkajs then fetches again from the first
 * unresolved offset, so nothing is lost and nothing spins. Other partitions keep flowing.
 */
export function createBatchHandler (options: BatchHandlerOptions): (payload: EachBatchPayload) => Promise<void> {
  const { processor, logger, backoff, metrics } = options

  return async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale, pause }) => {
    const { topic, partition } = batch
    const key = `${topic}/${partition}`
    const done = metrics?.batchTimer()
    let next: string | undefined
    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break
        let outcome: { value: ProcessResult, heartbeatError: unknown }
        try {
          outcome = await withHeartbeats(heartbeat, options.heartbeatEveryMs, () => processor.process({
            topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers
          }))
        } catch (err) {
          const delayMs = backoff.next(key)
          options.scheduleResume(delayMs, pause())
          metrics?.count('retry')
          logger.warn({ topic, partition, offset: message.offset, retryInMs: delayMs, attempt: backoff.attempts(key), ...errorFields(err) },
            'event consumer: record not processed, partition paused, will retry')
          break
        }
        backoff.reset(key)
        resolveOffset(message.offset)
        next = String(BigInt(message.offset) + 1n)
        const result = outcome.value
        metrics?.count(result.outcome)
        if (result.outcome === 'dead') {
          logger.warn({ topic, partition, offset: message.offset, ceId: result.ceId, code: result.errorCode }, 'event consumer: record dead-lettered')
        } else {
          logger.debug({ topic, partition, offset: message.offset, ceId: result.ceId, outcome: result.outcome, jobs: result.jobs }, 'event consumer: record processed')
        }
        options.onResolved?.(topic, partition, message.offset, result)
        if (outcome.heartbeatError !== undefined) throw outcome.heartbeatError
        await heartbeat()
        // Long batches commit on kafkajs' autoCommitInterval instead of only at their end.
        await commitOffsetsIfNecessary()
      }
      await commitOffsetsIfNecessary()
    } finally {
      done?.()
      const position = next ?? batch.firstOffset()
      if (position !== null) metrics?.lag(topic, partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(position))))
    }
  }
}
