import { EVENT_OUTCOMES, type EventOutcome, type MessageProcessor } from '../consumer/message-processor.js'
import type { ReplayResult } from '../consumer/replay.js'
import { createRedisClient, type RedisConnection } from './redis-connection.js'
import { entryToMessage, type RawStreamEntry } from './redis-entry.js'
import { streamIdAt } from './stream-id.js'

export interface RedisReplayOptions {
  connection: RedisConnection
  stream: string
  /** An entry id (inclusive), a time (the first entry written at or after it), or the whole stream. */
  from: { id: string } | Date | 'earliest'
  processor: MessageProcessor
  /** Entries per XRANGE; default 500. */
  batchSize?: number | undefined
  /** Give up (and report) after this long; default 1 h. */
  timeoutMs?: number | undefined
}

/**
 * `lti-provider events replay --from <id|time|earliest>` on Redis Streams: XRANGE from there to the
 * stream's end as it is now, each entry through the same processor as the live source. Read-only on
 * the stream: no consumer group is created, joined or moved, nothing is acked or trimmed; `ce_id`
 * deduplicates, so only what was missed creates jobs. Result in the Kafka replay's shape (partition 0).
 */
export async function replayRedisStream (options: RedisReplayOptions): Promise<ReplayResult> {
  const outcomes = Object.fromEntries(EVENT_OUTCOMES.map(o => [o, 0])) as Record<EventOutcome, number>
  const result: ReplayResult = { partitions: [], processed: 0, outcomes, complete: true }
  const redis = createRedisClient(options.connection)
  redis.on('error', () => {})
  await redis.connect()
  try {
    const start = options.from === 'earliest' ? '-' : options.from instanceof Date ? streamIdAt(options.from) : options.from.id
    const last = await redis.call('XREVRANGE', options.stream, '+', '-', 'COUNT', '1') as Array<[string, unknown]>
    const end = last[0]?.[0]
    if (end === undefined) return result
    const deadline = Date.now() + (options.timeoutMs ?? 3_600_000)
    const count = String(options.batchSize ?? 500)
    let cursor = start
    let first: string | undefined
    for (;;) {
      if (Date.now() > deadline) {
        result.complete = false
        break
      }
      const page = await redis.callBuffer('XRANGE', options.stream, cursor, end, 'COUNT', count) as RawStreamEntry[]
      for (const [rawId, fields] of page) {
        const id = String(rawId)
        first ??= id
        const message = entryToMessage(options.stream, id, fields ?? [])
        const pending = options.processor.process(message)
        const settled = pending instanceof Promise ? await pending : pending
        result.processed++
        result.outcomes[settled.outcome]++
      }
      const lastId = page.at(-1)?.[0]
      if (page.length < Number(count) || lastId === undefined || String(lastId) === end) break
      cursor = `(${String(lastId)}`
    }
    if (first !== undefined) result.partitions.push({ partition: 0, from: first, to: end })
  } finally {
    redis.disconnect()
  }
  return result
}
