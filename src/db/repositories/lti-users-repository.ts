/** `lti_users`: LTI 1.1 consumer + LTI user_id → LMS account. Optional transaction on every method. */
import type { Knex } from 'knex'

export interface LmsAccountRef { lmsUserId: number, lmsUsername: string, lmsEmail: string }
export interface LtiUser extends LmsAccountRef { id: number, consumerId: number, ltiUserId: string }

interface Row { id: number, consumer_id: number, lti_user_id: string, lms_user_id: number | string, lms_username: string, lms_email: string }

export function createLtiUsersRepository (knex: Knex) {
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
      const row = await (trx ?? knex)('lti_users as u')
        .leftJoin('graded_assignments as a', function () { this.on('a.lti_user_id', '=', 'u.id').andOn('a.usage_key', '=', knex.raw('?', [usageKey])) })
        .leftJoin('outcome_services as s', 's.id', 'a.outcome_service_id')
        .where({ 'u.consumer_id': consumerId, 'u.lti_user_id': ltiUserId })
        .first('u.*', 'a.id as a_id', 'a.lis_result_sourcedid as a_sourcedid', 's.url as s_url')
      if (!row) return undefined
      const user = fromRow(row as Row)
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
