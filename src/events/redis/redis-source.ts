import type { Redis } from 'ioredis'
import { isAppError } from '../../errors.js'
import { Backoff } from '../consumer/backoff.js'
import type { ConsumerMetrics } from '../consumer/consumer-metrics.js'
import type { ConsumerLogger } from '../consumer/kafka-client.js'
import type { MessageProcessor, ProcessResult } from '../consumer/message-processor.js'
import { createRedisClient, redactedRedisUrl, type RedisConnection } from './redis-connection.js'
import { entryToMessage, type RawStreamEntry } from './redis-entry.js'
import { compareStreamIds, previousStreamId } from './stream-id.js'

export interface RedisSourceTuning {
  /** XREADGROUP BLOCK (REDIS_BLOCK_MS); default 2000. */
  blockMs?: number
  /** XREADGROUP / XAUTOCLAIM COUNT (REDIS_BATCH_SIZE); default 100. */
  batchSize?: number
  /** Entries pending this long at another consumer are claimed (REDIS_CLAIM_IDLE_MS); default 60 s. */
  claimIdleMs?: number
  /** Pause before an entry whose processing failed is tried again; default 1 s doubling to 60 s (as Kafka). */
  recordRetry?: { initialMs?: number, maxMs?: number }
  /** Pause between attempts while Redis is unreachable; default 1 s doubling to 60 s. */
  reconnect?: { initialMs?: number, maxMs?: number }
}

export interface RedisSourceOptions {
  connection: RedisConnection
  stream: string
  group: string
  consumerName: string
  processor: MessageProcessor
  logger: ConsumerLogger
  metrics?: ConsumerMetrics | undefined
  tuning?: RedisSourceTuning | undefined
  /** Called once each entry is settled and acknowledged (tests and tools follow progress). */
  onAcked?: ((stream: string, id: string, result: ProcessResult) => void) | undefined
}

/** Entries trimmed from the stream before this group read them (event-bus.md §9: MAXLEN ~). */
export interface StreamGap {
  /** Exclusive: the group had read up to here. */
  after: string
  /** Inclusive: the newest id known to be gone. */
  through: string
  /** Entries known lost (pending ids whose entry vanished); 0 when the range cannot be counted exactly. */
  entries: number
  /**
   * For a range trimmed before it was read: at most this many entries (the stream's removed count
   * minus the group's `entries-read`; Redis keeps those counters only approximately after a gap).
   */
  upTo?: number | undefined
  detectedAt: number
}

export type RedisSourceState = 'idle' | 'starting' | 'running' | 'reconnecting' | 'stopping' | 'stopped'

export interface RedisSourceStatus {
  state: RedisSourceState
  since: number
  /** Times the connection was lost or a command failed. */
  failures: number
  lastError?: string | undefined
  lastProgressAt: number
  stallAfterMs: number
  /** The latest gap, if any since start. */
  gap?: StreamGap | undefined
}

export interface RedisSource {
  start: () => Promise<void>
  /** Finishes the entry in flight (its ack included), then closes the connection. */
  stop: () => Promise<void>
  status: () => RedisSourceStatus
}

/** How long a detected gap keeps /ready failing: long enough to be seen and acted on, not forever. */
export const GAP_UNREADY_MS = 3_600_000

export function isRedisSourceHealthy (status: RedisSourceStatus, now = Date.now()): boolean {
  return status.state === 'running' && !isRedisSourceStalled(status, now) && !(status.gap && now - status.gap.detectedAt < GAP_UNREADY_MS)
}

export function isRedisSourceStalled (status: RedisSourceStatus, now = Date.now()): boolean {
  return status.state === 'running' && now - status.lastProgressAt >= status.stallAfterMs
}

function reason (err: unknown): string {
  const e = err as { name?: string, message?: string } | null
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 300)
}

function errorFields (err: unknown): Record<string, unknown> {
  if (isAppError(err)) return { code: err.code, details: err.details }
  const e = err as { name?: string, message?: string, code?: string } | null
  return { errorName: e?.name, code: e?.code, message: e?.message?.slice(0, 300) }
}

/** XINFO replies are flat name/value lists. */
function asMap (reply: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>()
  if (!Array.isArray(reply)) return map
  for (let i = 0; i + 1 < reply.length; i += 2) map.set(String(reply[i]), reply[i + 1])
  return map
}

/** XREADGROUP's reply: [[stream, entries]] or null (block timed out). */
function entriesOf (reply: unknown): RawStreamEntry[] {
  if (!Array.isArray(reply) || reply.length === 0) return []
  const first = reply[0] as [unknown, RawStreamEntry[] | null]
  return first[1] ?? []
}

/**
 * Open edX's Redis Streams event bus as a source of score events (event-bus.md §9), with the same
 * processor as Kafka. Our own consumer group, created from the start of the stream (`XGROUP CREATE
 * … 0 MKSTREAM`, Kafka's fromBeginning); entries read with `XREADGROUP … BLOCK`; each `XACK`ed only
 * once the processor settled it, i.e. after its database transaction committed (upstream acks in
 * `finally`). An entry that must be retried (database, LMS) is left pending and read again from our
 * own pending list after the Kafka backoff; poison entries are dead-lettered by the processor, then
 * acked. Entries pending at a crashed instance are claimed with XAUTOCLAIM once idle long enough.
 * Nothing here trims the stream or touches another group.
 */
export function createRedisSource (options: RedisSourceOptions): RedisSource {
  const { stream, group, consumerName: me, logger, metrics, processor } = options
  const tuning = options.tuning ?? {}
  const blockMs = tuning.blockMs ?? 2000
  const batchSize = tuning.batchSize ?? 100
  const claimIdleMs = tuning.claimIdleMs ?? 60_000
  const recordBackoff = new Backoff(tuning.recordRetry)
  const reconnectBackoff = new Backoff(tuning.reconnect)
  const stallAfterMs = Math.max(60_000, blockMs * 3)
  let client: Redis | undefined
  let stopping = false
  let loop: Promise<void> | undefined
  let reading = false
  let groupReady = false
  /** Our own pending list must be read (from id 0) before new entries: after a retry, a claim or a restart. */
  let ownPending = true
  let lastClaimAt = 0
  /** The last gap reported (`<last delivered>|<first entry>`), so a retried check does not log it twice. */
  let judgedGap: string | undefined
  let wake: (() => void) | undefined
  let status: RedisSourceStatus = { state: 'idle', since: Date.now(), failures: 0, lastProgressAt: Date.now(), stallAfterMs }

  const setState = (state: RedisSourceState, lastError?: string) => {
    const at = Date.now()
    status = { ...status, state, since: at, lastError: lastError ?? status.lastError, lastProgressAt: state === 'running' ? at : status.lastProgressAt }
  }
  const progressed = () => { status.lastProgressAt = Date.now() }

  /** A pause that stop() cuts short. */
  const pause = (ms: number) => new Promise<void>(resolve => {
    const timer = setTimeout(() => { wake = undefined; resolve() }, ms)
    wake = () => { clearTimeout(timer); wake = undefined; resolve() }
  })

  function reportGap (gap: Omit<StreamGap, 'detectedAt'>): void {
    status = { ...status, gap: { ...gap, detectedAt: Date.now() } }
    metrics?.gap?.(gap.entries)
    logger.error({ stream, group, after: gap.after, through: gap.through, entries: gap.entries || undefined, upTo: gap.upTo },
      'event consumer: Redis stream entries were trimmed before this group read them; score changes in that range are lost. ' +
      'Run `lti-provider grades resync` for the time they cover, and raise EVENT_BUS_REDIS_STREAM_MAX_LEN in the LMS')
  }

  async function ensureGroup (redis: Redis): Promise<void> {
    if (groupReady) return
    let created = true
    try {
      await redis.call('XGROUP', 'CREATE', stream, group, '0', 'MKSTREAM')
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err
      created = false
    }
    if (created) {
      // Created at 0 on a stream trimmed before the group existed: what is gone was never ours to read.
      // Recording the trimmed count as read keeps the gap check for later losses.
      const info = asMap(await redis.call('XINFO', 'STREAM', stream))
      const removed = Number(info.get('entries-added')) - Number(info.get('length'))
      if (removed > 0) await redis.call('XGROUP', 'SETID', stream, group, '0', 'ENTRIESREAD', String(removed))
      logger.info({ stream, group, trimmedBefore: removed > 0 ? removed : undefined }, 'event consumer: created our consumer group at the start of the stream')
    }
    groupReady = true
  }

  /**
   * Our group's last delivered id older than the stream's first entry while the stream has dropped
   * more entries than the group read = entries the group never read were trimmed (the producer's
   * MAXLEN ~ ignores consumer groups). Counted with Redis 7's `entries-added` and the group's
   * `entries-read`. Checked before every read of new entries: once the group reads past the hole,
   * it can no longer be seen.
   */
  async function checkTrimmed (redis: Redis): Promise<void> {
    const replies = await redis.pipeline().call('XINFO', 'STREAM', stream).call('XINFO', 'GROUPS', stream).exec()
    if (!replies) return
    for (const [err] of replies) if (err) throw err
    const info = asMap(replies[0]?.[1])
    const ours = (replies[1]?.[1] as unknown[] ?? []).map(asMap).find(g => String(g.get('name')) === group)
    if (!ours) {
      // Someone destroyed our group: create it again (from the start; ce_id dedupes what was already done).
      groupReady = false
      return
    }
    const lag = ours.get('lag')
    if (typeof lag === 'number') metrics?.lag(stream, 0, lag)
    const firstEntry = info.get('first-entry')
    const firstId = Array.isArray(firstEntry) ? String(firstEntry[0]) : undefined
    const lastDelivered = String(ours.get('last-delivered-id') ?? '0-0')
    if (firstId === undefined || compareStreamIds(lastDelivered, firstId) >= 0) return
    const added = Number(info.get('entries-added'))
    const length = Number(info.get('length'))
    const read = ours.get('entries-read')
    const removed = added - length
    // entries-read is null after some SETIDs: the loss is then certain only if the group had read something.
    const lost = typeof read === 'number' && Number.isFinite(removed) ? removed - read : (lastDelivered === '0-0' ? 0 : -1)
    if (lost === 0 || (lost < 0 && lost !== -1)) return
    const key = `${lastDelivered}|${firstId}`
    if (judgedGap === key) return
    judgedGap = key
    reportGap({ after: lastDelivered, through: previousStreamId(firstId), entries: 0, upTo: lost > 0 ? lost : undefined })
  }

  /** Claims entries idle at other (crashed) consumers; they join our pending list and are read from id 0. */
  async function claimIdle (redis: Redis): Promise<void> {
    lastClaimAt = Date.now()
    let cursor = '0-0'
    const gone: string[] = []
    for (let round = 0; round < 100; round++) {
      const reply = await redis.call('XAUTOCLAIM', stream, group, me, String(claimIdleMs), cursor, 'COUNT', String(batchSize), 'JUSTID') as [string, string[], string[]?]
      const [next, claimed, deleted] = reply
      if (claimed.length > 0) {
        ownPending = true
        logger.warn({ stream, group, claimed: claimed.length, from: claimed[0] }, 'event consumer: claimed entries left pending by another consumer')
      }
      if (deleted && deleted.length > 0) gone.push(...deleted)
      cursor = String(next)
      if (cursor === '0-0') break
    }
    // XAUTOCLAIM already removed these from the pending list: their events are lost.
    if (gone.length > 0) reportGap({ after: gone[0] as string, through: gone.at(-1) as string, entries: gone.length })
  }

  async function ack (redis: Redis, ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await redis.call('XACK', stream, group, ...ids)
  }

  /** Settles entries in order; false when one must be retried (the rest stay pending, unacked). */
  async function processEntries (redis: Redis, entries: RawStreamEntry[]): Promise<boolean> {
    const done = metrics?.batchTimer()
    const settled: Array<{ id: string, result: ProcessResult }> = []
    const goneIds: string[] = []
    let retry = false
    try {
      for (const [rawId, fields] of entries) {
        if (stopping) break
        const id = String(rawId)
        if (fields === null) {
          // A pending id whose entry the stream no longer holds (trimmed while it waited).
          goneIds.push(id)
          continue
        }
        const message = entryToMessage(stream, id, fields)
        let result: ProcessResult
        try {
          const pending = processor.process(message)
          result = pending instanceof Promise ? await pending : pending
        } catch (err) {
          const delayMs = recordBackoff.next('stream')
          metrics?.count('retry')
          logger.warn({ stream, id, retryInMs: delayMs, attempt: recordBackoff.attempts('stream'), ...errorFields(err) },
            'event consumer: entry not processed, left pending, will retry')
          retry = true
          ownPending = true
          // What was settled before it stays done; the failed entry and those after it stay pending.
          await ack(redis, settled.map(s => s.id))
          for (const s of settled) options.onAcked?.(stream, s.id, s.result)
          settled.length = 0
          await pause(delayMs)
          break
        }
        recordBackoff.reset('stream')
        progressed()
        settled.push({ id, result })
        metrics?.count(result.outcome)
        if (result.outcome === 'dead') logger.warn({ stream, id, ceId: result.ceId, code: result.errorCode }, 'event consumer: entry dead-lettered')
      }
      await ack(redis, [...settled.map(s => s.id), ...goneIds])
      for (const s of settled) options.onAcked?.(stream, s.id, s.result)
      if (goneIds.length > 0) reportGap({ after: goneIds[0] as string, through: goneIds.at(-1) as string, entries: goneIds.length })
    } finally {
      done?.()
    }
    return !retry
  }

  async function iteration (redis: Redis): Promise<void> {
    await ensureGroup(redis)
    if (status.state !== 'running') {
      reconnectBackoff.reset('redis')
      setState('running')
    }
    if (Date.now() - lastClaimAt >= Math.max(1000, claimIdleMs / 2)) await claimIdle(redis)
    if (!groupReady) return
    if (ownPending) {
      const reply = await redis.callBuffer('XREADGROUP', 'GROUP', group, me, 'COUNT', String(batchSize), 'STREAMS', stream, '0')
      const entries = entriesOf(reply)
      progressed()
      if (entries.length === 0) {
        ownPending = false
        return
      }
      await processEntries(redis, entries)
      return
    }
    await checkTrimmed(redis)
    if (!groupReady || stopping) return
    reading = true
    let reply: unknown
    try {
      reply = await redis.callBuffer('XREADGROUP', 'GROUP', group, me, 'COUNT', String(batchSize), 'BLOCK', String(blockMs), 'STREAMS', stream, '>')
    } finally {
      reading = false
    }
    progressed()
    await processEntries(redis, entriesOf(reply))
  }

  async function run (redis: Redis): Promise<void> {
    while (!stopping) {
      try {
        if (redis.status === 'wait') await redis.connect()
        await iteration(redis)
      } catch (err) {
        if (stopping) break
        const why = reason(err)
        const first = status.state !== 'reconnecting'
        status = { ...status, failures: status.failures + 1 }
        setState('reconnecting', why)
        metrics?.crash()
        const delayMs = reconnectBackoff.next('redis')
        if (first) logger.error({ error: why, retryInMs: delayMs }, 'event consumer: Redis unavailable, retrying')
        else logger.debug({ error: why, retryInMs: delayMs }, 'event consumer: Redis still unavailable')
        // After a reconnect the group may be gone (a Redis restart without persistence): check again.
        groupReady = false
        ownPending = true
        await pause(delayMs)
      }
    }
  }

  return {
    async start () {
      if (stopping || client) return
      logger.info({ stream, group, consumer: me, redis: redactedRedisUrl(options.connection.url) }, 'event consumer: starting (Redis Streams)')
      const redis = createRedisClient(options.connection)
      // ioredis reports connection errors as events too; the loop reports them once per outage.
      redis.on('error', () => {})
      client = redis
      setState('starting')
      loop = run(redis)
    },

    async stop () {
      stopping = true
      setState('stopping')
      wake?.()
      // A blocked read holds nothing of ours: cut it short. An entry being processed finishes (and is acked) first.
      if (reading) client?.disconnect()
      await loop
      client?.disconnect()
      setState('stopped')
    },

    status: () => status
  }
}
