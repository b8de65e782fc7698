import type { Knex } from 'knex'
import { createOutboxWriter } from '../db/outbox/writer.js'
import { createProblemScoresRepository } from '../db/repositories/problem-scores-repository.js'
import { createProcessedEventsRepository } from '../db/repositories/processed-events-repository.js'
import { courseKeyOfBlock, isBlockKey, isCourseKey } from '../lms/opaque-keys.js'
import type { CourseStructure } from './course-structure.js'
import { GradesError } from './errors.js'
import type { GradedTarget } from './outbox-types.js'
import { planPassbacks } from './passback-plan.js'

/** A decoded `PROBLEM_WEIGHTED_SCORE_CHANGED`, in the pipeline's words. */
export interface ScoreChange {
  /** The event's `ce_id`: the idempotency key. */
  ceId: string
  ceType: string
  lmsUserId: number
  courseKey: string
  usageKey: string
  weightedEarned: number
  weightedPossible: number
  scoreDeleted: boolean
  /** `modified` in epoch µs: orders changes of one (user, problem). */
  modifiedUs: number
}

/**
 * - `queued`: jobs written (one per matching launch);
 * - `unmatched`: the learner has no launch on this problem or its ancestors (ledger still kept);
 * - `stale`: a newer score of this problem was already recorded: nothing sent for an old change;
 * - `duplicate`: this ce_id was processed before: nothing written;
 * - `other_context`: not course content (content libraries), skipped as the LMS's own provider does.
 */
export type RecordOutcome = 'queued' | 'unmatched' | 'stale' | 'duplicate' | 'other_context'

export interface RecordResult {
  outcome: RecordOutcome
  jobs: number
}

export interface ScoreChangeRecorderOptions {
  knex: Knex
  /**
   * The course block tree, for launches on a unit or subsection above the problem. Without it
   * (no LMS configured) only launches on the problem itself can be matched.
   */
  structure?: CourseStructure | undefined
  /** LTI_AGGREGATE_SCORE_PASSBACK_DELAY in ms. */
  compositeDelayMs: number
  now?: () => number
}

export interface ScoreChangeRecorder {
  /**
   * Writes the dedupe row, the ledger row and the passback jobs of one change in ONE transaction;
   * only after it resolves may the consumer resolve the offset. Throws GRADES_* (see
   * GRADES_ERROR_DISPOSITION) or database errors (retry).
   */
  record: (change: ScoreChange) => Promise<RecordResult>
}

export function createScoreChangeRecorder (options: ScoreChangeRecorderOptions): ScoreChangeRecorder {
  const { knex, structure, compositeDelayMs } = options
  const now = options.now ?? Date.now
  const processed = createProcessedEventsRepository(knex)
  const ledger = createProblemScoresRepository(knex)
  const outbox = createOutboxWriter(knex)

  /** The problem and, when some launch sits above it, its ancestors: fetched before the transaction (no HTTP inside one). */
  async function keysToMatch (change: ScoreChange, candidates: readonly GradedTarget[]): Promise<Set<string>> {
    const keys = new Set([change.usageKey])
    const above = candidates.find(c => c.usageKey !== change.usageKey)
    if (above === undefined || structure === undefined) return keys
    for (const key of await structure.ancestorsOf(change.courseKey, change.usageKey, above.lmsUsername)) keys.add(key)
    return keys
  }

  return {
    async record (change) {
      // The LMS's provider skips non-course contexts (content libraries); a block of another course is a producer bug.
      if (!isCourseKey(change.courseKey)) return { outcome: 'other_context', jobs: 0 }
      if (!isBlockKey(change.usageKey) || courseKeyOfBlock(change.usageKey) !== change.courseKey) {
        throw GradesError('GRADES_CONTENT_MISMATCH', { courseKey: change.courseKey, usageKey: change.usageKey })
      }
      // A redelivery must not cost an LMS call; the unique insert below still decides.
      if (await processed.exists(change.ceId)) return { outcome: 'duplicate', jobs: 0 }
      const candidates = await outbox.findTargetsForUserCourse(change.lmsUserId, change.courseKey)
      const keys = await keysToMatch(change, candidates)

      return knex.transaction(async trx => {
        const at = now()
        if (await processed.insert({ ceId: change.ceId, ceType: change.ceType, outcome: 'ignored', processedAt: at }, trx) === 'duplicate') {
          return { outcome: 'duplicate', jobs: 0 }
        }
        const write = await ledger.upsertIfNewer({
          lmsUserId: change.lmsUserId,
          courseKey: change.courseKey,
          usageKey: change.usageKey,
          weightedEarned: change.weightedEarned,
          weightedPossible: change.weightedPossible,
          scoreDeleted: change.scoreDeleted,
          modifiedUs: change.modifiedUs,
          ceId: change.ceId,
          updatedAt: at
        }, trx)
        if (write === 'stale') return { outcome: 'stale', jobs: 0 }

        const matched = (await outbox.findTargetsForUserCourse(change.lmsUserId, change.courseKey, trx)).filter(t => keys.has(t.usageKey))
        if (matched.length === 0) return { outcome: 'unmatched', jobs: 0 }
        const versions = await outbox.bumpVersions(matched, at, trx)
        const planned = planPassbacks(change, matched, versions, { now: at, compositeDelayMs })
        await outbox.insertJobs(planned, at, trx)
        for (const job of planned) await outbox.supersedeOlder(job.targetKey, job.version, at, trx)
        await processed.setOutcome(change.ceId, 'queued', trx)
        return { outcome: 'queued', jobs: planned.length }
      })
    }
  }
}
