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
