/**
 * Grade targets: LTI 1.1 `graded_assignments` (through their outcome service) and LTI 1.3
 * `graded_resources` (through their AGS line item), read as one shape because a score change feeds
 * both the same way. A target is named by its `target_key`: `a:<assignment id>` or
 * `r:<resource id>`, the key the outbox (`passbacks`) is unique on with the version.
 * Optional transaction on every method; the caller owns it.
 */
import type { Knex } from 'knex'

export type TargetKind = 'lti11' | 'lti13'

export interface GradedTarget {
  /** `a:<graded_assignments.id>` or `r:<graded_resources.id>`. */
  targetKey: string
  kind: TargetKind
  id: number
  lmsUserId: number
  lmsUsername: string
  courseKey: string
  usageKey: string
  versionNumber: number
  /** LTI 1.1 outcome service URL or LTI 1.3 line item URL: where the score goes. */
  platformUrl: string
}

export function targetKeyOf (kind: TargetKind, id: number): string {
  return `${kind === 'lti11' ? 'a' : 'r'}:${id}`
}

export function parseTargetKey (targetKey: string): { kind: TargetKind, id: number } | undefined {
  const m = /^([ar]):([1-9][0-9]{0,15})$/.exec(targetKey)
  if (m === null) return undefined
  return { kind: m[1] === 'a' ? 'lti11' : 'lti13', id: Number(m[2]) }
}

interface AssignmentRow { id: number, lms_user_id: number | string, lms_username: string, course_key: string, usage_key: string, version_number: number, url: string }
interface ResourceRow { id: number, lms_user_id: number | string, lms_username: string, course_key: string, usage_key: string, version_number: number, lineitem_url: string }

function fromAssignment (row: AssignmentRow): GradedTarget {
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

function fromResource (row: ResourceRow): GradedTarget {
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

export function createGradedTargetsRepository (knex: Knex) {
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
    const [aRows, rRows] = [await a as AssignmentRow[], await r as ResourceRow[]]
    return [...aRows.map(fromAssignment), ...rRows.map(fromResource)]
  }

  async function versionsOf (kind: TargetKind, ids: number[], trx?: Knex.Transaction): Promise<Array<[string, number]>> {
    if (ids.length === 0) return []
    const rows = await db(trx)(kind === 'lti11' ? 'graded_assignments' : 'graded_resources')
      .select('id', 'version_number').whereIn('id', ids) as Array<{ id: number, version_number: number }>
    return rows.map(row => [targetKeyOf(kind, Number(row.id)), Number(row.version_number)])
  }

  return {
    /** Every target of one learner in one course (index `ix_*__lms_user_id_course_key`). */
    async findForUserCourse (lmsUserId: number, courseKey: string, trx?: Knex.Transaction): Promise<GradedTarget[]> {
      return both(
        assignments(trx).where({ 'ga.lms_user_id': lmsUserId, 'ga.course_key': courseKey }),
        resources(trx).where({ 'gr.lms_user_id': lmsUserId, 'gr.course_key': courseKey })
      )
    },

    /** Every target in a course, for resync; ordered by id within each kind. */
    async listForCourse (courseKey: string, trx?: Knex.Transaction): Promise<GradedTarget[]> {
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
        for (const [key, version] of await versionsOf(kind, list, trx)) out.set(key, version)
      }
      return out
    },

    /** The target's current version, or undefined when the target no longer exists. */
    async currentVersion (targetKey: string, trx?: Knex.Transaction): Promise<number | undefined> {
      const parsed = parseTargetKey(targetKey)
      if (parsed === undefined) return undefined
      const [entry] = await versionsOf(parsed.kind, [parsed.id], trx)
      return entry?.[1]
    }
  }
}

export type GradedTargetsRepository = ReturnType<typeof createGradedTargetsRepository>
