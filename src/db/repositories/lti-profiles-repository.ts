/**
 * `lti_profiles`: LTI 1.3 registration (issuer + client_id) + `sub` → LMS account. The unique key
 * (registration_id, sub) makes a concurrent first launch of the same learner fail on insert rather
 * than map it twice. Optional transaction on every method; the caller owns it.
 */
import type { Knex } from 'knex'
import type { LmsAccountRef } from './lti-users-repository.js'

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

const TABLE = 'lti_profiles'

export function createLtiProfilesRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Row>(TABLE)
  return {
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
