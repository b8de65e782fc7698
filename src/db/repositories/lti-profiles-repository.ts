/**
 * `lti_profiles`: LTI 1.3 registration (issuer + client_id) + `sub` → LMS account. The unique key
 * (registration_id, sub) makes a concurrent first launch of the same learner fail on insert rather
 * than map it twice. Optional transaction on every method; the caller owns it.
 */
import type { Knex } from 'knex'
import { preparedSql } from '../prepared-statements.js'
import type { LmsAccountRef } from '../../lms/lms-types.js'

export interface LtiProfile extends LmsAccountRef {
  id: number
  registrationId: number
  sub: string
}

interface Row {
  id: number
  registration_id: number
  sub: string
  lms_user_id: number | string
  lms_username: string
  lms_email: string
  created_at: number | string
  updated_at: number | string
}

/** What a launch compares before writing a graded resource again (`scopes` as stored: JSON text). */
export interface StoredResource {
  id: number
  deploymentId: string
  lmsUserId: number
  courseKey: string
  lineitemUrl: string
  scopesJson: string
}

const TABLE = 'lti_profiles'

// Once per LTI 1.3 launch: a prepared statement (src/db/prepared-statements.ts).
const FIND_WITH_RESOURCE = `SELECT p.id, p.registration_id, p.sub, p.lms_user_id, p.lms_username, p.lms_email,
  r.id AS r_id, r.deployment_id AS r_deployment_id, r.lms_user_id AS r_lms_user_id, r.course_key AS r_course_key,
  r.lineitem_url AS r_lineitem_url, r.scopes AS r_scopes
FROM lti_profiles p
LEFT JOIN graded_resources r ON r.profile_id = p.id AND r.usage_key = ?
WHERE p.registration_id = ? AND p.sub = ?
LIMIT 1`

interface RowWithResource extends Row {
  r_id: number | string | null
  r_deployment_id: string
  r_lms_user_id: number | string
  r_course_key: string
  r_lineitem_url: string
  r_scopes: string
}

export function createLtiProfilesRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Row>(TABLE)
  const sql = preparedSql(knex)
  return {
    /**
     * The returning-learner lookup in one query: the profile and, when there is one, its graded
     * resource on this block (so an unchanged re-launch writes nothing).
     */
    async findWithResource (registrationId: number, sub: string, usageKey: string, trx?: Knex.Transaction): Promise<{ profile: LtiProfile, resource?: StoredResource } | undefined> {
      const row = await sql.first<RowWithResource>(FIND_WITH_RESOURCE, [usageKey, registrationId, sub], trx)
      if (row === undefined) return undefined
      const profile = fromRow(row)
      if (row.r_id == null) return { profile }
      return {
        profile,
        resource: {
          id: Number(row.r_id),
          deploymentId: row.r_deployment_id,
          lmsUserId: Number(row.r_lms_user_id),
          courseKey: row.r_course_key,
          lineitemUrl: row.r_lineitem_url,
          scopesJson: row.r_scopes
        }
      }
    },
    async find (registrationId: number, sub: string, trx?: Knex.Transaction): Promise<LtiProfile | undefined> {
      const row = await q(trx).where({ registration_id: registrationId, sub }).first()
      return row ? fromRow(row) : undefined
    },
    /** Throws the driver's unique violation when another launch mapped the same learner first. */
    async insert (registrationId: number, sub: string, account: LmsAccountRef, now: number, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert({
        registration_id: registrationId,
        sub,
        lms_user_id: account.lmsUserId,
        lms_username: account.lmsUsername,
        lms_email: account.lmsEmail,
        created_at: now,
        updated_at: now
      } as never)
      return Number(id)
    }
  }
}

export type LtiProfilesRepository = ReturnType<typeof createLtiProfilesRepository>

function fromRow (r: Row): LtiProfile {
  return {
    id: Number(r.id),
    registrationId: Number(r.registration_id),
    sub: r.sub,
    lmsUserId: Number(r.lms_user_id),
    lmsUsername: r.lms_username,
    lmsEmail: r.lms_email
  }
}
