/**
 * Rows of `lti13_deployments`: the deployment ids a registration accepts. `source` says whether an
 * admin listed it or a launch recorded it under the `record` policy. Optional transaction on every
 * method; the caller owns it.
 */
import type { Knex } from 'knex'
import { preparedSql } from '../prepared-statements.js'

export type DeploymentSource = 'admin' | 'recorded' | 'registered'

export interface Lti13DeploymentRow {
  id: number
  registration_id: number
  deployment_id: string
  source: string
  created_at: number
}

export interface Lti13Deployment {
  id: number
  registrationId: number
  deploymentId: string
  source: DeploymentSource
  createdAt: number
}

const TABLE = 'lti13_deployments'
const FIND = 'SELECT id, registration_id, deployment_id, source, created_at FROM lti13_deployments WHERE registration_id = ? AND deployment_id = ? LIMIT 1'

export function createLti13DeploymentsRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Lti13DeploymentRow>(TABLE)
  const sql = preparedSql(knex)
  return {
    async listByRegistration (registrationId: number, trx?: Knex.Transaction): Promise<Lti13Deployment[]> {
      return (await q(trx).select('*').where({ registration_id: registrationId }).orderBy('id', 'asc')).map(fromRow)
    },
    /** Deployments of many registrations in one query (list views). */
    async listByRegistrations (registrationIds: readonly number[], trx?: Knex.Transaction): Promise<Lti13Deployment[]> {
      if (registrationIds.length === 0) return []
      return (await q(trx).select('*').whereIn('registration_id', registrationIds).orderBy('id', 'asc')).map(fromRow)
    },
    /** Read on every LTI 1.3 launch (login and launch): a prepared statement. */
    async find (registrationId: number, deploymentId: string, trx?: Knex.Transaction): Promise<Lti13Deployment | undefined> {
      const row = await sql.first<Lti13DeploymentRow>(FIND, [registrationId, deploymentId], trx)
      return row ? fromRow(row) : undefined
    },
    /** Throws the driver's unique violation when the registration already lists it. */
    async insert (deployment: Omit<Lti13Deployment, 'id'>, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert({
        registration_id: deployment.registrationId,
        deployment_id: deployment.deploymentId,
        source: deployment.source,
        created_at: deployment.createdAt
      })
      return Number(id)
    },
    async remove (registrationId: number, deploymentId: string, trx?: Knex.Transaction): Promise<number> {
      return await q(trx).where({ registration_id: registrationId, deployment_id: deploymentId }).delete()
    }
  }
}

export type Lti13DeploymentsRepository = ReturnType<typeof createLti13DeploymentsRepository>

function fromRow (row: Lti13DeploymentRow): Lti13Deployment {
  return {
    id: Number(row.id),
    registrationId: Number(row.registration_id),
    deploymentId: row.deployment_id,
    source: row.source === 'recorded' || row.source === 'registered' ? row.source : 'admin',
    createdAt: Number(row.created_at)
  }
}
