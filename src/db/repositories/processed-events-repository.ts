/**
 * `processed_events`: one row per event `ce_id` we acted on, the de-duplication key of the event
 * pipeline (unique index). Insert-or-fail, never check-then-insert (style.md habit 4).
 * Methods take an optional transaction; the caller owns it.
 */
import type { Knex } from 'knex'
import { isUniqueViolation } from '../connection.js'

/** `queued`: jobs were written; `ignored`: recorded (ledger, dedupe) but nothing to send. */
export type ProcessedEventOutcome = 'queued' | 'ignored'

export interface ProcessedEventInput {
  ceId: string
  ceType: string
  outcome: ProcessedEventOutcome
  processedAt: number
}

export function createProcessedEventsRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)('processed_events')
  return {
    /** A cheap look before any LMS call; the insert below is what actually decides. */
    async exists (ceId: string, trx?: Knex.Transaction): Promise<boolean> {
      return (await q(trx).select('id').where({ ce_id: ceId }).first()) !== undefined
    },

    /** `duplicate` when the ce_id is already recorded (by us, a replay or another instance). */
    async insert (input: ProcessedEventInput, trx?: Knex.Transaction): Promise<'inserted' | 'duplicate'> {
      try {
        await q(trx).insert({ ce_id: input.ceId, ce_type: input.ceType, outcome: input.outcome, processed_at: input.processedAt })
        return 'inserted'
      } catch (err) {
        if (isUniqueViolation(err)) return 'duplicate'
        throw err
      }
    },

    async setOutcome (ceId: string, outcome: ProcessedEventOutcome, trx?: Knex.Transaction): Promise<void> {
      await q(trx).where({ ce_id: ceId }).update({ outcome })
    },

    /** Retention: rows older than `before` (epoch ms); a replay older than that would re-send. */
    async deleteOlderThan (before: number, trx?: Knex.Transaction): Promise<number> {
      return q(trx).where('processed_at', '<', before).delete()
    }
  }
}

export type ProcessedEventsRepository = ReturnType<typeof createProcessedEventsRepository>
