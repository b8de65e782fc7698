/**
 * LTI 1.1 → 1.3 migration (1EdTech LTI 1.3 Core, "LTI 1.1 migration claim"): when a platform moves
 * a tool link from 1.1 to 1.3, its learners must keep their LMS accounts (and with them their
 * progress and grades). The registration names the LTI 1.1 consumer it replaces
 * (`lti11_consumer_id`); the id_token's `lti1p1` claim then carries the learner's 1.1 `user_id`,
 * and `oauth_consumer_key_sign` proves the platform holds that consumer's secret.
 *
 * Policy:
 * - registration not linked to a consumer: the claim is ignored (it proves nothing to us);
 * - linked, and the token carries no claim: no migration (a learner new to the platform's link);
 * - linked, and the token carries the claim: it must verify (LTI13_LTI1P1_CLAIM_INCOMPLETE /
 *   LTI13_LTI1P1_BAD_SIGNATURE otherwise; a forged claim must never pick an account), and when its
 *   `user_id` is mapped for that consumer in `lti_users`, that LMS account is the learner's.
 */
import type { Knex } from 'knex'
import type { SecretBox } from '../../crypto/secret-box.js'
import { createLti11ConsumersRepository } from '../../db/repositories/lti11-consumers-repository.js'
import { createLtiUsersRepository, type LtiUser } from '../../db/repositories/lti-users-repository.js'
import type { Lti13RegistrationRecord } from '../../db/repositories/lti13-registrations-repository.js'
import type { Lti13Launch } from '../../lti/v13/lti13-launch.js'
import { verifyLti1p1Claim } from '../../lti/v13/lti1p1.js'
import { CONSUMER_SECRET_CONTEXT } from '../lti11/launch.js'

export type MigrationLaunch = Pick<Lti13Launch, 'lti1p1' | 'deploymentId' | 'iss' | 'clientId' | 'expiresAt' | 'nonce'>

export interface MigrationResult {
  consumerId: number
  /** The LTI 1.1 identity whose LMS account the profile inherits; undefined when the claim's user is unknown. */
  ltiUser: LtiUser | undefined
}

export function createLti11Migration (deps: { knex: Knex, secretBox: SecretBox }) {
  const consumers = createLti11ConsumersRepository(deps.knex)
  const users = createLtiUsersRepository(deps.knex)
  return {
    /** Undefined when no migration applies; throws the claim's code when it does not verify. */
    async resolve (launch: MigrationLaunch, registration: Pick<Lti13RegistrationRecord, 'lti11ConsumerId'>): Promise<MigrationResult | undefined> {
      if (registration.lti11ConsumerId === null || launch.lti1p1 === undefined) return undefined
      const consumer = await consumers.findById(registration.lti11ConsumerId)
      if (consumer === undefined) return undefined // unlinked meanwhile (FK SET NULL races the read)
      const secret = deps.secretBox.open(consumer.secretEnc, CONSUMER_SECRET_CONTEXT)
      const verified = verifyLti1p1Claim(launch, { key: consumer.consumerKey, secret })
      const ltiUser = verified.userId === undefined || verified.userId === ''
        ? undefined
        : await users.find(consumer.id, verified.userId)
      return { consumerId: consumer.id, ltiUser }
    }
  }
}

export type Lti11Migration = ReturnType<typeof createLti11Migration>
