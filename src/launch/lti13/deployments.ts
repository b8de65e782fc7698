/**
 * The core's DeploymentRegistry over `lti13_deployments`. At launch, a deployment the `record`
 * policy accepts is only remembered and written inside the launch transaction, so a launch refused
 * by a later step (message claims, content scope, LMS down) leaves no row behind.
 */
import type { Knex } from 'knex'
import { isUniqueViolation } from '../../db/connection.js'
import { createLti13DeploymentsRepository } from '../../db/repositories/lti13-deployments-repository.js'
import type { DeploymentRegistry, RegistrationId } from '../../lti/v13/registration.js'

export interface DeferredDeploymentRegistry extends DeploymentRegistry {
  /**
   * Writes the deployments `record` accepted during this launch. Idempotent, and the list is kept:
   * a transaction rolled back and run again (concurrent first launch) writes them again.
   */
  commit (now: number, trx: Knex.Transaction): Promise<void>
  /** True when `commit` has a deployment to write (one `record` accepted that was not yet known). */
  hasPending (): boolean
}

/** Read-only view: the login uses it to pick among several clients of one issuer. */
export function createDeploymentLookup (knex: Knex): Pick<DeploymentRegistry, 'isKnown'> {
  const repository = createLti13DeploymentsRepository(knex)
  return {
    isKnown: async (registrationId, deploymentId) => (await repository.find(Number(registrationId), deploymentId)) !== undefined
  }
}

export function createDeferredDeploymentRegistry (knex: Knex): DeferredDeploymentRegistry {
  const repository = createLti13DeploymentsRepository(knex)
  const pending: Array<{ registrationId: RegistrationId, deploymentId: string }> = []
  return {
    isKnown: async (registrationId, deploymentId) => (await repository.find(Number(registrationId), deploymentId)) !== undefined,
    async record (registrationId, deploymentId) {
      // Known already (every launch after the first): nothing to write, so a returning learner's
      // launch needs no write transaction. `commit` checks again inside the transaction.
      if (await repository.find(Number(registrationId), deploymentId) !== undefined) return
      pending.push({ registrationId, deploymentId })
    },
    hasPending: () => pending.length > 0,
    async commit (now, trx) {
      for (const { registrationId, deploymentId } of pending) {
        if (await repository.find(Number(registrationId), deploymentId, trx) !== undefined) continue
        try {
          await repository.insert({ registrationId: Number(registrationId), deploymentId, source: 'recorded', createdAt: now }, trx)
        } catch (err) {
          // Another launch recorded it between our read and insert: the row we wanted exists.
          if (!isUniqueViolation(err)) throw err
        }
      }
    }
  }
}
