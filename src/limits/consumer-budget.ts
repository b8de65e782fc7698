/**
 * Per-consumer launch budget: a fixed-window counter per LTI 1.1 consumer / LTI 1.3 registration,
 * in memory (per instance, like the per-IP limit).
 *
 * Why not @fastify/rate-limit here, as for the per-IP limit: its store has one operation,
 * "increment and compare". This budget needs two, at two moments of the launch:
 *   - `check` before anything is written (the LTI 1.1 nonce): a consumer over its budget is
 *     refused with nothing stored;
 *   - `spend` only once the launch is proven fresh and authentic (signature held AND the nonce was
 *     new; for LTI 1.3 the id_token verified after its single-use state was consumed).
 * So the budget cannot be spent by someone who merely knows a consumer key (forged signatures stop
 * before `check`), nor by replaying one captured signed launch form (refused by the nonce before
 * `spend`): only fresh launches signed by the consumer count.
 * Launches in flight between their `check` and `spend` may overshoot the budget by their number:
 * a soft bound, which is all a fairness valve needs.
 *
 * Framework-free on purpose: the launch services call it through the optional `budget` of their
 * request, the route binds it.
 */
import { rateLimitedError } from './rate-limited-error.js'

export interface ConsumerBudget {
  /** Throws RATE_LIMITED (429) when this consumer has spent its budget in the current window. */
  check (consumerId: number): void
  /** Counts one fresh, verified launch of this consumer. */
  spend (consumerId: number): void
}

interface Window { start: number, count: number }

export interface ConsumerBudgetOptions {
  /** 'lti11' consumers and 'lti13' registrations have separate id spaces: one budget each. */
  protocol: 'lti11' | 'lti13'
  max: number
  windowMs: number
  now?: () => number
}

/** Entries only come from verified launches (bounded by the configured consumers); the sweep is a backstop. */
const SWEEP_ABOVE = 10_000

export function createConsumerBudget (opts: ConsumerBudgetOptions): ConsumerBudget {
  const now = opts.now ?? Date.now
  const windows = new Map<number, Window>()

  function current (consumerId: number, at: number): Window | undefined {
    const w = windows.get(consumerId)
    return w !== undefined && at - w.start < opts.windowMs ? w : undefined
  }

  return {
    check (consumerId) {
      const at = now()
      const w = current(consumerId, at)
      if (w !== undefined && w.count >= opts.max) {
        throw rateLimitedError('consumer', (w.start + opts.windowMs - at) / 1000, { protocol: opts.protocol, consumerId })
      }
    },
    spend (consumerId) {
      const at = now()
      const w = current(consumerId, at)
      if (w !== undefined) {
        w.count++
        return
      }
      if (windows.size >= SWEEP_ABOVE) {
        for (const [id, old] of windows) if (at - old.start >= opts.windowMs) windows.delete(id)
      }
      windows.set(consumerId, { start: at, count: 1 })
    }
  }
}
