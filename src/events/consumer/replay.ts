import type { Admin } from 'kafkajs'
import { createEventConsumer, type ConsumerTuning } from './event-consumer.js'
import { createKafka, type ConsumerLogger, type KafkaConnection } from './kafka-client.js'
import { EVENT_OUTCOMES, type EventOutcome, type MessageProcessor } from './message-processor.js'

export interface ReplayOptions {
  connection: KafkaConnection
  topic: string
  /** A throwaway group of its own: the service's group keeps its offsets and its members. */
  groupId: string
  /** Replay records written at or after this time (broker timestamp lookup), or the whole retention. */
  from: Date | 'earliest'
  processor: MessageProcessor
  logger: ConsumerLogger
  tuning?: ConsumerTuning | undefined
  /** Give up (and report) after this long; default 1 h. */
  timeoutMs?: number | undefined
}

export interface ReplayedPartition {
  partition: number
  /** First offset replayed. */
  from: string
  /** The high watermark when the replay started: records from here on are the live consumer's. */
  to: string
}

export interface ReplayResult {
  partitions: ReplayedPartition[]
  processed: number
  outcomes: Record<EventOutcome, number>
  /** false when the timeout came first. */
  complete: boolean
}

async function startOffsets (admin: Admin, topic: string, from: Date | 'earliest'): Promise<Map<number, string>> {
  if (from === 'earliest') {
    return new Map((await admin.fetchTopicOffsets(topic)).map(p => [p.partition, p.low]))
  }
  // Like Open edX's `offset_time` (event-bus.md §6); a partition without a record that recent answers its end.
  return new Map((await admin.fetchTopicOffsetsByTimestamp(topic, from.getTime())).map(p => [p.partition, p.offset]))
}

/**
 * `lti-provider events replay --from <time>`: every record of the topic from that time up to the
 * end as it is now goes through the same processor as the live consumer. Safe to run beside the
 * service: `ce_id` deduplicates, so already processed events are counted `duplicate` and write
 * nothing; only what was missed (e.g. dead-lettered, then fixed) creates jobs.
 */
export async function replayEvents (options: ReplayOptions): Promise<ReplayResult> {
  const kafka = createKafka(options.connection, options.logger)
  const admin = kafka.admin()
  await admin.connect()
  let partitions: ReplayedPartition[]
  try {
    const starts = await startOffsets(admin, options.topic, options.from)
    const ends = await admin.fetchTopicOffsets(options.topic)
    partitions = ends
      .map(end => ({ partition: end.partition, from: starts.get(end.partition) ?? end.high, to: end.high }))
      .filter(p => BigInt(p.from) < BigInt(p.to))
      .sort((a, b) => a.partition - b.partition)
  } finally {
    await admin.disconnect()
  }

  const outcomes = Object.fromEntries(EVENT_OUTCOMES.map(o => [o, 0])) as Record<EventOutcome, number>
  const result: ReplayResult = { partitions, processed: 0, outcomes, complete: true }
  if (partitions.length === 0) return result

  const remaining = new Map(partitions.map(p => [p.partition, BigInt(p.to) - 1n]))
  let finish!: () => void
  const finished = new Promise<void>(resolve => { finish = resolve })
  const consumer = createEventConsumer({
    connection: options.connection,
    groupId: options.groupId,
    topic: options.topic,
    // Latest, then seek: a new group must not start reading before `from` even for a moment.
    fromBeginning: false,
    processor: options.processor,
    logger: options.logger,
    tuning: { ...options.tuning, commitOffsets: false },
    onRunning (kafkaConsumer) {
      for (const p of partitions) kafkaConsumer.seek({ topic: options.topic, partition: p.partition, offset: p.from })
    },
    onResolved (_topic, partition, offset, processed) {
      const last = remaining.get(partition)
      if (last === undefined) return
      const at = BigInt(offset)
      if (at <= last) {
        result.processed++
        result.outcomes[processed.outcome]++
      }
      // `>=`: the last offset may be a transaction marker that never reaches us.
      if (at >= last) remaining.delete(partition)
      if (remaining.size === 0) finish()
    }
  })
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<void>(resolve => {
    timer = setTimeout(() => {
      result.complete = false
      resolve()
    }, options.timeoutMs ?? 3_600_000)
  })
  try {
    await consumer.start()
    await Promise.race([finished, timedOut])
  } finally {
    clearTimeout(timer)
    await consumer.stop()
  }
  return result
}
