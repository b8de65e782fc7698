/**
 * The writing side of the grade outbox: the targets a score change or a resync reaches, their
 * version counters, and the jobs queued for them. `passbacks` is unique on (target_key, version),
 * so one change can never queue two jobs for one target. Optional transaction on every method; the
 * caller owns it (the score change writes its ledger row, the versions and the jobs in one).
 */
import type { Knex } from 'knex'
import { targetKeyOf, type GradedTarget, type NewPassbackJob, type TargetKind } from '../../grades/outbox-types.js'
import type { AssignmentTargetRow, ResourceTargetRow } from './rows.js'
import { versionsOf } from './versions.js'

/** States in which an older job is replaced by a newer version for the same target. */
const REPLACEABLE = ['pending', 'failed'] as const

function fromAssignment (row: AssignmentTargetRow): GradedTarget {
  return {
    targetKey: targetKeyOf('lti11', Number(row.id)),
    kind: 'lti11',
    id: Number(row.id),
    lmsUserId: Number(row.lms_user_id),
    lmsUsername: row.lms_username,
    courseKey: row.course_key,
    usageKey: row.usage_key,
    versionNumber: Number(row.version_number),
    platformUrl: row.url
  }
}

function fromResource (row: ResourceTargetRow): GradedTarget {
  return {
    targetKey: targetKeyOf('lti13', Number(row.id)),
    kind: 'lti13',
    id: Number(row.id),
    lmsUserId: Number(row.lms_user_id),
    lmsUsername: row.lms_username,
    courseKey: row.course_key,
    usageKey: row.usage_key,
    versionNumber: Number(row.version_number),
    platformUrl: row.lineitem_url
  }
}

export function createOutboxWriter (knex: Knex) {
  const db = (trx?: Knex.Transaction) => trx ?? knex

  function assignments (trx?: Knex.Transaction): Knex.QueryBuilder {
    return db(trx)('graded_assignments as ga')
      .join('lti_users as lu', 'lu.id', 'ga.lti_user_id')
      .join('outcome_services as os', 'os.id', 'ga.outcome_service_id')
      .select('ga.id', 'ga.lms_user_id', 'lu.lms_username', 'ga.course_key', 'ga.usage_key', 'ga.version_number', 'os.url')
  }

  function resources (trx?: Knex.Transaction): Knex.QueryBuilder {
    return db(trx)('graded_resources as gr')
      .join('lti_profiles as lp', 'lp.id', 'gr.profile_id')
      .select('gr.id', 'gr.lms_user_id', 'lp.lms_username', 'gr.course_key', 'gr.usage_key', 'gr.version_number', 'gr.lineitem_url')
  }

  async function both (a: Knex.QueryBuilder, r: Knex.QueryBuilder): Promise<GradedTarget[]> {
    const [aRows, rRows] = [await a as AssignmentTargetRow[], await r as ResourceTargetRow[]]
    return [...aRows.map(fromAssignment), ...rRows.map(fromResource)]
  }

  return {
    /** Every target of one learner in one course (index `ix_*__lms_user_id_course_key`). */
    async findTargetsForUserCourse (lmsUserId: number, courseKey: string, trx?: Knex.Transaction): Promise<GradedTarget[]> {
      return both(
        assignments(trx).where({ 'ga.lms_user_id': lmsUserId, 'ga.course_key': courseKey }),
        resources(trx).where({ 'gr.lms_user_id': lmsUserId, 'gr.course_key': courseKey })
      )
    },

    /** Every target in a course, for resync; ordered by id within each kind. */
    async listTargetsForCourse (courseKey: string, trx?: Knex.Transaction): Promise<GradedTarget[]> {
      return both(
        assignments(trx).where('ga.course_key', courseKey).orderBy('ga.id'),
        resources(trx).where('gr.course_key', courseKey).orderBy('gr.id')
      )
    },

    /**
     * edx-platform's version counter: +1 on every score change that reaches the target. Returns
     * the new version per target key. Inside a transaction the UPDATE holds the row lock until commit,
     * so two writers of one target get distinct versions.
     */
    async bumpVersions (targets: ReadonlyArray<{ kind: TargetKind, id: number }>, now: number, trx?: Knex.Transaction): Promise<Map<string, number>> {
      const ids = (kind: TargetKind) => targets.filter(t => t.kind === kind).map(t => t.id)
      const out = new Map<string, number>()
      for (const kind of ['lti11', 'lti13'] as const) {
        const list = ids(kind)
        if (list.length === 0) continue
        await db(trx)(kind === 'lti11' ? 'graded_assignments' : 'graded_resources')
          .whereIn('id', list)
          .update({ version_number: knex.raw('version_number + 1'), updated_at: now })
        for (const [key, version] of await versionsOf(db(trx), kind, list)) out.set(key, version)
      }
      return out
    },

    async insertJobs (jobs: readonly NewPassbackJob[], now: number, trx?: Knex.Transaction): Promise<void> {
      if (jobs.length === 0) return
      await db(trx)('passbacks').insert(jobs.map(job => ({
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
     * delivery side re-checks the version before it sends (versions.ts).
     */
    async supersedeOlder (targetKey: string, version: number, now: number, trx?: Knex.Transaction): Promise<number> {
      return db(trx)('passbacks').where('target_key', targetKey).andWhere('version', '<', version).whereIn('status', [...REPLACEABLE])
        .update({ status: 'superseded', updated_at: now })
    }
  }
}

export type OutboxWriter = ReturnType<typeof createOutboxWriter>
