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
  /**
   * Longest run of records settled without I/O before the handler resolves them, heartbeats,
   * commits when due and lets the event loop serve other work (HTTP); default 10 ms.
   */
  fastRunMs?: number | undefined
  metrics?: ConsumerMetrics | undefined
  /** Called once each record is settled; its offset is resolved at the latest when its run ends (replay progress). */
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
 * each offset resolved only once its record is settled (for records with work, after the
 * processor's database transaction committed), offsets committed when due. When a record must be
 * retried (registry, LMS or database unavailable) the partition is paused, the batch stops there
 * without resolving that offset, and the partition resumes after a backoff: kafkajs then fetches
 * again from the first unresolved offset, so nothing is lost and nothing spins. Other partitions
 * keep flowing.
 *
 * Two paths. A record the processor settles synchronously (another learner, another type: no
 * I/O, nothing stored) joins a run: no timer, no await; the run's last offset is resolved when the
 * run ends (before the next record with work, every `fastRunMs`, and at the end of the batch),
 * with a heartbeat and a due commit at those points. A record with work (a promise) is processed
 * under a heartbeat timer, then resolved, heartbeat and commit-if-due, one by one. Either way no
 * offset is resolved, so none committed, before its record is settled.
 */
export function createBatchHandler (options: BatchHandlerOptions): (payload: EachBatchPayload) => Promise<void> {
  const { processor, logger, backoff, metrics } = options
  const fastRunMs = options.fastRunMs ?? 10
  const debugEnabled = (): boolean => logger.isLevelEnabled?.('debug') ?? true

  return async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale, pause }) => {
    const { topic, partition } = batch
    const key = `${topic}/${partition}`
    const done = metrics?.batchTimer()
    const debug = debugEnabled()
    /** Last settled offset of the batch (lag); `unresolved`: settled on the fast path, not yet resolved. */
    let last: string | undefined
    let unresolved: string | undefined
    let backoffReset = false
    const tally = new Map<ProcessResult['outcome'], number>()
    let runStarted = Date.now()

    const settled = (offset: string, result: ProcessResult): void => {
      if (!backoffReset) {
        backoff.reset(key)
        backoffReset = true
      }
      last = offset
      if (result.outcome === 'dead') {
        logger.warn({ topic, partition, offset, ceId: result.ceId, code: result.errorCode }, 'event consumer: record dead-lettered')
      } else if (debug) {
        logger.debug({ topic, partition, offset, ceId: result.ceId, outcome: result.outcome, jobs: result.jobs }, 'event consumer: record processed')
      }
      options.onResolved?.(topic, partition, offset, result)
    }
    /** Resolves the fast run so far and counts its outcomes. */
    const endRun = (): void => {
      if (unresolved !== undefined) resolveOffset(unresolved)
      unresolved = undefined
      for (const [outcome, n] of tally) metrics?.count(outcome, n)
      tally.clear()
    }

    try {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break
        let pending: ProcessResult | Promise<ProcessResult>
        try {
          pending = processor.process({
            topic, partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers
          })
        } catch (err) {
          pending = Promise.reject(err)
        }

        if (!(pending instanceof Promise)) {
          tally.set(pending.outcome, (tally.get(pending.outcome) ?? 0) + 1)
          unresolved = message.offset
          settled(message.offset, pending)
          if (Date.now() - runStarted >= fastRunMs) {
            endRun()
            await heartbeat()
            await commitOffsetsIfNecessary()
            // Long runs never await I/O: let HTTP requests and timers in between.
            await new Promise(resolve => setImmediate(resolve))
            runStarted = Date.now()
          }
          continue
        }

        // Settled records before this one are resolved first: if it fails, they stay done.
        endRun()
        let outcome: { value: ProcessResult, heartbeatError: unknown }
        try {
          outcome = await withHeartbeats(heartbeat, options.heartbeatEveryMs, () => pending)
        } catch (err) {
          const delayMs = backoff.next(key)
          options.scheduleResume(delayMs, pause())
          metrics?.count('retry')
          logger.warn({ topic, partition, offset: message.offset, retryInMs: delayMs, attempt: backoff.attempts(key), ...errorFields(err) },
            'event consumer: record not processed, partition paused, will retry')
          break
        }
        resolveOffset(message.offset)
        metrics?.count(outcome.value.outcome)
        settled(message.offset, outcome.value)
        if (outcome.heartbeatError !== undefined) throw outcome.heartbeatError
        await heartbeat()
        // Long batches commit on kafkajs' autoCommitInterval instead of only at their end.
        await commitOffsetsIfNecessary()
        runStarted = Date.now()
      }
      endRun()
      await commitOffsetsIfNecessary()
    } finally {
      // Settled records stay resolved whatever interrupted the batch (a rebalance from a heartbeat).
      endRun()
      done?.()
      const position = last === undefined ? batch.firstOffset() : String(BigInt(last) + 1n)
      if (position !== null) metrics?.lag(topic, partition, Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(position))))
    }
  }
}
