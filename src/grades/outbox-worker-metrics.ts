import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { PassbackStatuses } from './outbox-types.js'
import type { DeliveryMetrics } from './outbox-worker.js'

/** What the gauges read at scrape time (OutboxClaims fits). */
export interface OutboxStats {
  countByStatus (): Promise<Map<string, number>>
  oldestDueAt (now: number): Promise<number | undefined>
}

/**
 * Prometheus series of grade delivery, on the app's registry:
 * - `lti_provider_passback_deliveries_total{result,platform_host}`: attempts by how they ended;
 * - `lti_provider_passback_delivery_duration_seconds{kind,result}`: one attempt, claim to result;
 * - `lti_provider_passback_queue_depth{status}`: jobs per status, read from the database at scrape;
 * - `lti_provider_passback_oldest_due_age_seconds`: how long the oldest due job has waited (0 when none).
 * Queue gauges come from the table, not this process, so every instance reports the shared queue.
 */
export function createOutboxMetrics (registry: Registry, stats: OutboxStats, now: () => number = Date.now): DeliveryMetrics {
  const deliveries = new Counter({
    name: 'lti_provider_passback_deliveries_total',
    help: 'Grade delivery attempts by result (delivered, failed, dead, superseded, released) and platform host',
    labelNames: ['result', 'platform_host'] as const,
    registers: [registry]
  })
  const duration = new Histogram({
    name: 'lti_provider_passback_delivery_duration_seconds',
    help: 'Duration of one grade delivery attempt, token request included',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry]
  })
  new Gauge({
    name: 'lti_provider_passback_queue_depth',
    help: 'Grade passback jobs per status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect () {
      const counts = await stats.countByStatus()
      for (const status of PassbackStatuses) this.set({ status }, counts.get(status) ?? 0)
    }
  })
  new Gauge({
    name: 'lti_provider_passback_oldest_due_age_seconds',
    help: 'Age of the oldest grade passback job that is due and waiting (pending or failed)',
    registers: [registry],
    async collect () {
      const at = now()
      const oldest = await stats.oldestDueAt(at)
      this.set(oldest === undefined ? 0 : Math.max(0, (at - oldest) / 1000))
    }
  })
  return {
    observe (result, job, seconds) {
      deliveries.inc({ result, platform_host: job.platformHost })
      duration.observe({ kind: job.kind, result }, seconds)
    }
  }
}
