/** `lti_users`: LTI 1.1 consumer + LTI user_id → LMS account. Optional transaction on every method. */
import type { Knex } from 'knex'
import type { LmsAccountRef } from '../../lms/lms-types.js'
import { preparedSql } from '../prepared-statements.js'

export interface LtiUser extends LmsAccountRef { id: number, consumerId: number, ltiUserId: string }

interface Row { id: number, consumer_id: number, lti_user_id: string, lms_user_id: number | string, lms_username: string, lms_email: string }

// Once per LTI 1.1 launch: a prepared statement (src/db/prepared-statements.ts).
const FIND_WITH_ASSIGNMENT = `SELECT u.id, u.consumer_id, u.lti_user_id, u.lms_user_id, u.lms_username, u.lms_email,
  a.id AS a_id, a.lis_result_sourcedid AS a_sourcedid, s.url AS s_url
FROM lti_users u
LEFT JOIN graded_assignments a ON a.lti_user_id = u.id AND a.usage_key = ?
LEFT JOIN outcome_services s ON s.id = a.outcome_service_id
WHERE u.consumer_id = ? AND u.lti_user_id = ?
LIMIT 1`

export function createLtiUsersRepository (knex: Knex) {
  const sql = preparedSql(knex)
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Row>('lti_users')
  return {
    async find (consumerId: number, ltiUserId: string, trx?: Knex.Transaction): Promise<LtiUser | undefined> {
      const row = await q(trx).where({ consumer_id: consumerId, lti_user_id: ltiUserId }).first()
      return row ? fromRow(row) : undefined
    },
    /**
     * The returning-learner lookup in one query: the mapping and, when there is one, the learner's
     * outcome target on this block (so an unchanged re-launch writes nothing).
     */
    async findWithAssignment (consumerId: number, ltiUserId: string, usageKey: string, trx?: Knex.Transaction): Promise<{ user: LtiUser, assignment?: { id: number, sourcedid: string, outcomeUrl: string } } | undefined> {
      const row = await sql.first<Row & { a_id: number | string | null, a_sourcedid: string, s_url: string }>(FIND_WITH_ASSIGNMENT, [usageKey, consumerId, ltiUserId], trx)
      if (!row) return undefined
      const user = fromRow(row)
      return row.a_id == null ? { user } : { user, assignment: { id: Number(row.a_id), sourcedid: row.a_sourcedid, outcomeUrl: row.s_url } }
    },
    /** Throws the driver's unique violation when another launch mapped the same user first. */
    async insert (consumerId: number, ltiUserId: string, account: LmsAccountRef, now: number, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert({
        consumer_id: consumerId, lti_user_id: ltiUserId, lms_user_id: account.lmsUserId, lms_username: account.lmsUsername,
        lms_email: account.lmsEmail, created_at: now, updated_at: now
      } as never)
      return Number(id)
    },
    async setEmail (id: number, email: string, now: number, trx?: Knex.Transaction): Promise<void> {
      await q(trx).where({ id }).update({ lms_email: email, updated_at: now } as never)
    }
  }
}

function fromRow (r: Row): LtiUser {
  return { id: Number(r.id), consumerId: Number(r.consumer_id), ltiUserId: r.lti_user_id, lmsUserId: Number(r.lms_user_id), lmsUsername: r.lms_username, lmsEmail: r.lms_email }
}
