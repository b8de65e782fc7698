/**
 * `graded_resources`: one AGS line item per LTI 1.3 profile and launched block, captured at launch
 * and read by the passback pipeline. The upsert refreshes what the latest launch said (line item,
 * scopes, deployment) and keeps `version_number`, the version guard of queued scores
 * (versions.ts). A launch writes these; the outbox's writer (writer.ts) reads them as graded targets.
 */
import type { Knex } from 'knex'

export interface GradedResourceInput {
  profileId: number
  deploymentId: string
  lmsUserId: number
  courseKey: string
  usageKey: string
  lineitemUrl: string
  scopes: readonly string[]
}

export interface GradedResource extends GradedResourceInput {
  id: number
  versionNumber: number
}

interface Row {
  id: number
  profile_id: number
  deployment_id: string
  lms_user_id: number | string
  course_key: string
  usage_key: string
  lineitem_url: string
  scopes: string
  version_number: number
  created_at: number | string
  updated_at: number | string
}

const TABLE = 'graded_resources'

export function createGradedResourcesRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Row>(TABLE)
  return {
    /** Insert or refresh; returns the row id. `merge`, not `ignore` (style.md §4). */
    async upsert (r: GradedResourceInput, now: number, trx?: Knex.Transaction): Promise<number> {
      await q(trx).insert({
        profile_id: r.profileId,
        deployment_id: r.deploymentId,
        lms_user_id: r.lmsUserId,
        course_key: r.courseKey,
        usage_key: r.usageKey,
        lineitem_url: r.lineitemUrl,
        scopes: JSON.stringify(r.scopes),
        version_number: 0,
        created_at: now,
        updated_at: now
      } as never).onConflict(['profile_id', 'usage_key']).merge(['deployment_id', 'lms_user_id', 'course_key', 'lineitem_url', 'scopes', 'updated_at'])
      const row = await q(trx).select('id').where({ profile_id: r.profileId, usage_key: r.usageKey }).first()
      return Number(row?.id)
    },
    async find (profileId: number, usageKey: string, trx?: Knex.Transaction): Promise<GradedResource | undefined> {
      const row = await q(trx).where({ profile_id: profileId, usage_key: usageKey }).first()
      return row ? fromRow(row) : undefined
    }
  }
}

export type GradedResourcesRepository = ReturnType<typeof createGradedResourcesRepository>

function fromRow (r: Row): GradedResource {
  const scopes: unknown = JSON.parse(r.scopes)
  return {
    id: Number(r.id),
    profileId: Number(r.profile_id),
    deploymentId: r.deployment_id,
    lmsUserId: Number(r.lms_user_id),
    courseKey: r.course_key,
    usageKey: r.usage_key,
    lineitemUrl: r.lineitem_url,
    scopes: Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [],
    versionNumber: Number(r.version_number)
  }
}
