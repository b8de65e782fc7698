/**
 * Writing side of the grade outbox (`passbacks`): the jobs a score change or a resync creates.
 * Unique on (target_key, version), so one change can never queue two jobs for one target. The
 * delivery worker's claim/complete queries live with the worker; the admin view in
 * passbacks-repository.ts. Optional transaction on every method; the caller owns it.
 */
import type { Knex } from 'knex'
import type { TargetKind } from './graded-targets-repository.js'

/** leaf: the launch was on the problem; unit/subsection: composites computed when due; resync: operator. */
export type PassbackMethod = 'leaf' | 'unit' | 'subsection' | 'resync'

export interface NewPassbackJob {
  kind: TargetKind
  gradedAssignmentId: number | null
  gradedResourceId: number | null
  targetKey: string
  version: number
  method: PassbackMethod
  /** null: a composite, computed by the delivery side when due. */
  scoreGiven: number | null
  scoreMaximum: number | null
  /** The change's time in epoch µs (the event's `modified`): the AGS timestamp, stable across retries. */
  eventTimeUs: number
  ceId: string | null
  platformHost: string
  dueAt: number
}

/** States in which an older job is replaced by a newer version for the same target. */
const REPLACEABLE = ['pending', 'failed'] as const

export function createPassbackJobsRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)('passbacks')
  return {
    async insertMany (jobs: readonly NewPassbackJob[], now: number, trx?: Knex.Transaction): Promise<void> {
      if (jobs.length === 0) return
      await q(trx).insert(jobs.map(job => ({
        kind: job.kind,
        graded_assignment_id: job.gradedAssignmentId,
        graded_resource_id: job.gradedResourceId,
        target_key: job.targetKey,
        version: job.version,
        method: job.method,
        score_given: job.scoreGiven,
        score_maximum: job.scoreMaximum,
        event_time_us: job.eventTimeUs,
        ce_id: job.ceId,
        platform_host: job.platformHost,
        status: 'pending',
        attempts: 0,
        due_at: job.dueAt,
        created_at: now,
        updated_at: now
      })))
    },

    /**
     * Marks waiting jobs of older versions of the target `superseded`: only the newest score of a
     * target is worth sending (edx's version guard, applied when the newer job is written so the
     * outbox shows exactly one job to send). Jobs already being delivered are left alone; the
     * delivery side re-checks the version before it sends.
     */
    async supersedeOlder (targetKey: string, version: number, now: number, trx?: Knex.Transaction): Promise<number> {
      return q(trx).where('target_key', targetKey).andWhere('version', '<', version).whereIn('status', [...REPLACEABLE])
        .update({ status: 'superseded', updated_at: now })
    }
  }
}

export type PassbackJobsRepository = ReturnType<typeof createPassbackJobsRepository>
