/**
 * `problem_scores`: the ledger of the latest weighted score per (LMS user, problem), fed by score
 * events and read for unit composites and resync. Ordered by the event's `modified` (epoch
 * microseconds): an older event never overwrites a newer score. Optional transaction on every
 * method; the caller owns it.
 */
import type { Knex } from 'knex'
import { knexDialect } from '../connection.js'

export interface ProblemScoreInput {
  lmsUserId: number
  courseKey: string
  usageKey: string
  weightedEarned: number
  weightedPossible: number
  scoreDeleted: boolean
  modifiedUs: number
  ceId: string
  updatedAt: number
}

export interface LedgerScore {
  usageKey: string
  earned: number
  possible: number
  deleted: boolean
  modifiedUs: number
}

/** `stale`: a newer score (larger `modified`) is already stored; nothing was written. */
export type LedgerWrite = 'inserted' | 'updated' | 'stale'

interface Row {
  usage_key: string
  weighted_earned: number
  weighted_possible: number
  score_deleted: number | boolean
  modified_us: number | string
}

function toScore (row: Row): LedgerScore {
  return {
    usageKey: row.usage_key,
    earned: Number(row.weighted_earned),
    possible: Number(row.weighted_possible),
    deleted: Boolean(row.score_deleted),
    modifiedUs: Number(row.modified_us)
  }
}

export function createProblemScoresRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)('problem_scores')
  const mysql = knexDialect(knex) === 'mysql'
  const COLUMNS = ['course_key', 'weighted_earned', 'weighted_possible', 'score_deleted', 'ce_id', 'updated_at'] as const

  /**
   * One statement, so concurrent writers of one (user, problem), e.g. the consumer and a replay,
   * neither deadlock (a read-then-insert takes gap locks on MySQL) nor let the older change win:
   * every column is replaced only when the incoming `modified` is not older than the stored one.
   * Equal times replace: two changes in the same microsecond cannot be ordered, the later delivery wins.
   */
  function newerWins (): Record<string, Knex.Raw> {
    const merge: Record<string, Knex.Raw> = {}
    if (mysql) {
      // MySQL evaluates the assignments left to right: modified_us must be compared before it is replaced.
      for (const column of COLUMNS) merge[column] = knex.raw('IF(VALUES(modified_us) >= modified_us, VALUES(??), ??)', [column, column])
      merge.modified_us = knex.raw('GREATEST(VALUES(modified_us), modified_us)')
    } else {
      for (const column of [...COLUMNS, 'modified_us']) {
        merge[column] = knex.raw('CASE WHEN excluded.modified_us >= problem_scores.modified_us THEN ?? ELSE ?? END', [`excluded.${column}`, `problem_scores.${column}`])
      }
    }
    return merge
  }

  return {
    /** `stale` when a newer change of this (user, problem) is already stored; the row is then unchanged. */
    async upsertIfNewer (input: ProblemScoreInput, trx?: Knex.Transaction): Promise<LedgerWrite> {
      const before = await q(trx).select('ce_id').where({ lms_user_id: input.lmsUserId, usage_key: input.usageKey }).first() as { ce_id: string } | undefined
      await q(trx).insert({
        lms_user_id: input.lmsUserId,
        usage_key: input.usageKey,
        course_key: input.courseKey,
        weighted_earned: input.weightedEarned,
        weighted_possible: input.weightedPossible,
        score_deleted: input.scoreDeleted,
        modified_us: input.modifiedUs,
        ce_id: input.ceId,
        updated_at: input.updatedAt
      }).onConflict(['lms_user_id', 'usage_key']).merge(newerWins())
      // ce_ids are unique per change (the caller recorded this one in processed_events first), so the
      // row carries ours exactly when our values won.
      const after = await q(trx).select('ce_id').where({ lms_user_id: input.lmsUserId, usage_key: input.usageKey }).first() as { ce_id: string } | undefined
      if (after?.ce_id !== input.ceId) return 'stale'
      return before === undefined ? 'inserted' : 'updated'
    },

    /** The learner's ledger in a course, by usage key; only `usageKeys` when given. */
    async listForUser (lmsUserId: number, courseKey: string, usageKeys?: readonly string[], trx?: Knex.Transaction): Promise<Map<string, LedgerScore>> {
      const query = q(trx).select('usage_key', 'weighted_earned', 'weighted_possible', 'score_deleted', 'modified_us')
        .where({ lms_user_id: lmsUserId, course_key: courseKey })
      if (usageKeys !== undefined) {
        if (usageKeys.length === 0) return new Map()
        query.whereIn('usage_key', [...usageKeys])
      }
      const rows = await query as Row[]
      return new Map(rows.map(row => [row.usage_key, toScore(row)]))
    }
  }
}

export type ProblemScoresRepository = ReturnType<typeof createProblemScoresRepository>
