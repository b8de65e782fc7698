/**
 * "Is this job superseded?", answered here and nowhere else. Two facts decide it:
 * - a newer job: another job of the same target with a higher version exists (its score is the
 *   newer one). The worker asks before every send, the admin before every requeue, and the bulk
 *   requeue asks it per row; all through `newerJobs`, one query shape.
 * - the target's counter (edx's `send_composite_outcome` guard): `version_number` of the graded
 *   assignment/resource moved past the job's, or the target is gone. The worker asks it for
 *   composites, before and after computing the score.
 * Every function takes the database handle, so a caller's transaction reads its own writes.
 */
import type { Knex } from 'knex'
import { parseTargetKey, targetKeyOf, type TargetKind } from '../../grades/outbox-types.js'

type Db = Knex | Knex.Transaction

/** A job given by value, or by reference to the outer query's row (a correlated subquery). */
export interface JobVersion {
  targetKey: string | Knex.Raw
  version: number | Knex.Raw
}

/** The outer `passbacks` row of a correlated subquery, by alias. */
export function outerJob (knex: Knex, alias: string): JobVersion {
  return { targetKey: knex.ref(`${alias}.target_key`), version: knex.ref(`${alias}.version`) }
}

/** Jobs of the same target with a higher version (alias `newer`). */
export function newerJobs (db: Db, job: JobVersion): Knex.QueryBuilder {
  return db('passbacks as newer').where('newer.target_key', job.targetKey).andWhere('newer.version', '>', job.version)
}

export async function hasNewerJob (db: Db, job: { targetKey: string, version: number }): Promise<boolean> {
  return (await newerJobs(db, job).first('newer.id')) !== undefined
}

/** edx's rule: stale when the target moved past the job's version or is gone; an older counter (a restored backup) does not drop the job. */
export function isSupersededVersion (currentVersion: number | undefined, jobVersion: number): boolean {
  return currentVersion === undefined || currentVersion > jobVersion
}

/** `version_number` of some targets of one kind, by target key. */
export async function versionsOf (db: Db, kind: TargetKind, ids: readonly number[]): Promise<Array<[string, number]>> {
  if (ids.length === 0) return []
  const rows = await db(kind === 'lti11' ? 'graded_assignments' : 'graded_resources')
    .select('id', 'version_number').whereIn('id', ids) as Array<{ id: number, version_number: number }>
  return rows.map(row => [targetKeyOf(kind, Number(row.id)), Number(row.version_number)])
}

/** The target's current version, or undefined when it no longer exists (or the key names no target). */
export async function currentVersion (db: Db, targetKey: string): Promise<number | undefined> {
  const parsed = parseTargetKey(targetKey)
  if (parsed === undefined) return undefined
  const [entry] = await versionsOf(db, parsed.kind, [parsed.id])
  return entry?.[1]
}
