import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { EVENT_OUTCOMES, type EventOutcome } from './message-processor.js'

/** `retry`: a record left unresolved because something outside it failed (it will come again). */
export type CountedOutcome = EventOutcome | 'retry'

export interface ConsumerMetrics {
  /** Adds `n` (default 1) records with this outcome. */
  count: (outcome: CountedOutcome, n?: number) => void
  /** Starts the batch latency timer; call the result when the batch is done. */
  batchTimer: () => () => void
  lag: (topic: string, partition: number, lag: number) => void
  crash: () => void
  /** Entries the stream lost before this group read them (Redis MAXLEN trimming); 0 when unknown, still counts a gap. */
  gap?: (entries: number) => void
}

/** Which event bus the records came from: a label on every family, so one dashboard serves both. */
export type EventBusBackend = 'kafka' | 'redis'

/**
 * Metrics of the event consumer on the app's registry (plugins/metrics.ts). Labels are bounded:
 * outcomes are a fixed list, partitions are few; never a user, course or ce_id.
 */
export function createConsumerMetrics (registry: Registry, relevantUsers?: { readonly size: number }, backend: EventBusBackend = 'kafka'): ConsumerMetrics {
  const events = new Counter({
    name: 'lti_provider_events_total',
    help: 'Event-bus records by outcome (irrelevant, queued, duplicate, dead, other_type, retry, ...)',
    labelNames: ['outcome', 'backend'] as const,
    registers: [registry]
  })
  for (const outcome of [...EVENT_OUTCOMES, 'retry'] as const) events.inc({ outcome, backend }, 0)
  const batches = new Histogram({
    name: 'lti_provider_event_batch_duration_seconds',
    help: 'Time to process one fetched batch of one partition',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    labelNames: ['backend'] as const,
    registers: [registry]
  })
  const lag = new Gauge({
    name: 'lti_provider_event_consumer_lag',
    help: 'Records between the last processed offset and the high watermark, per partition (Redis: the group\'s lag, partition 0)',
    labelNames: ['topic', 'partition', 'backend'] as const,
    registers: [registry]
  })
  const crashes = new Counter({
    name: 'lti_provider_event_consumer_crashes_total',
    help: 'Consumer crashes or lost connections to the event bus (the consumer recovers by itself with a backoff)',
    labelNames: ['backend'] as const,
    registers: [registry]
  })
  const gaps = new Counter({
    name: 'lti_provider_event_bus_gaps_total',
    help: 'Times the event bus dropped events before we read them (Redis stream trimmed by MAXLEN): run grades resync',
    labelNames: ['backend'] as const,
    registers: [registry]
  })
  gaps.inc({ backend }, 0)
  const gapEntries = new Counter({
    name: 'lti_provider_event_bus_lost_entries_total',
    help: 'Entries known to be gone before we read them (a lower bound: a trimmed range may not be countable)',
    labelNames: ['backend'] as const,
    registers: [registry]
  })
  gapEntries.inc({ backend }, 0)
  if (relevantUsers) {
    new Gauge({
      name: 'lti_provider_relevant_users',
      help: 'LMS users with an LTI identity, held in memory by the event consumer',
      registers: [registry],
      collect () { this.set(relevantUsers.size) }
    })
  }
  return {
    count: (outcome, n = 1) => events.inc({ outcome, backend }, n),
    batchTimer: () => {
      const end = batches.startTimer({ backend })
      return () => { end() }
    },
    lag: (topic, partition, value) => lag.set({ topic, partition: String(partition), backend }, value),
    crash: () => crashes.inc({ backend }),
    gap: entries => {
      gaps.inc({ backend })
      if (entries > 0) gapEntries.inc({ backend }, entries)
    }
  }
}
