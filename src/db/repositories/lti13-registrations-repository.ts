/**
 * Rows of `lti13_registrations` (one platform = issuer + client_id), mapped to camelCase records.
 * Methods take an optional transaction; the caller owns it.
 */
import type { Knex } from 'knex'
import type { DeploymentPolicy } from '../../lti/v13/registration.js'
import { preparedSql } from '../prepared-statements.js'
import { bool, stringList } from './column-values.js'

export interface Lti13RegistrationRow {
  id: number
  name: string
  issuer: string
  client_id: string
  auth_login_url: string
  auth_token_url: string
  auth_token_audience: string | null
  jwks_url: string
  deployment_policy: string
  content_scope: string
  use_pii: number | boolean
  allow_anonymous: number | boolean
  allowed_algorithms: string
  allowed_hosts: string
  token_max_age: number
  lti11_consumer_id: number | null
  active: number | boolean
  selectable_block_types?: string | null
  created_at: number
  updated_at: number
}

export interface Lti13RegistrationRecord {
  id: number
  name: string
  issuer: string
  clientId: string
  authLoginUrl: string
  authTokenUrl: string
  authTokenAudience: string | null
  jwksUrl: string
  deploymentPolicy: DeploymentPolicy
  contentScope: string[]
  usePii: boolean
  allowAnonymous: boolean
  allowedAlgorithms: string[]
  allowedHosts: string[]
  tokenMaxAge: number
  lti11ConsumerId: number | null
  active: boolean
  /** Block types the Deep Linking picker offers; null (or absent) means the default list. */
  selectableBlockTypes?: string[] | null
  createdAt: number
  updatedAt: number
}

export type NewLti13Registration = Omit<Lti13RegistrationRecord, 'id'>
export type Lti13RegistrationChanges = Partial<Omit<Lti13RegistrationRecord, 'id' | 'createdAt'>>

const TABLE = 'lti13_registrations'
// Once per LTI 1.3 login and launch: prepared statements (src/db/prepared-statements.ts).
const BY_ISSUER = 'SELECT * FROM lti13_registrations WHERE issuer = ? ORDER BY id'
const BY_ISSUER_AND_CLIENT = 'SELECT * FROM lti13_registrations WHERE issuer = ? AND client_id = ? ORDER BY id'

export function createLti13RegistrationsRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Lti13RegistrationRow>(TABLE)
  const sql = preparedSql(knex)
  return {
    async list (trx?: Knex.Transaction): Promise<Lti13RegistrationRecord[]> {
      return (await q(trx).select('*').orderBy('id', 'asc')).map(fromRow)
    },
    async findById (id: number, trx?: Knex.Transaction): Promise<Lti13RegistrationRecord | undefined> {
      const row = await q(trx).where({ id }).first()
      return row ? fromRow(row) : undefined
    },
    /** The launch lookup: every registration of an issuer, or the one with this client id. */
    async findByIssuer (issuer: string, clientId?: string, trx?: Knex.Transaction): Promise<Lti13RegistrationRecord[]> {
      const rows = clientId === undefined
        ? await sql.all<Lti13RegistrationRow>(BY_ISSUER, [issuer], trx)
        : await sql.all<Lti13RegistrationRow>(BY_ISSUER_AND_CLIENT, [issuer, clientId], trx)
      return rows.map(fromRow)
    },
    /** Throws the driver's unique violation on a duplicate (issuer, client_id). */
    async insert (registration: NewLti13Registration, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert(toRow(registration))
      return Number(id)
    },
    async update (id: number, changes: Lti13RegistrationChanges, trx?: Knex.Transaction): Promise<number> {
      const row = toRow(changes)
      if (Object.keys(row).length === 0) return (await q(trx).where({ id }).first()) ? 1 : 0
      return await q(trx).where({ id }).update(row)
    },
    /** Deployments, profiles, states, graded resources and their passbacks go with it (FK cascade). */
    async remove (id: number, trx?: Knex.Transaction): Promise<number> {
      return await q(trx).where({ id }).delete()
    }
  }
}

export type Lti13RegistrationsRepository = ReturnType<typeof createLti13RegistrationsRepository>

export function fromRow (row: Lti13RegistrationRow): Lti13RegistrationRecord {
  return {
    id: Number(row.id),
    name: row.name,
    issuer: row.issuer,
    clientId: row.client_id,
    authLoginUrl: row.auth_login_url,
    authTokenUrl: row.auth_token_url,
    authTokenAudience: row.auth_token_audience,
    jwksUrl: row.jwks_url,
    // Anything but the explicit opt-in is treated as the safe policy.
    deploymentPolicy: row.deployment_policy === 'record' ? 'record' : 'strict',
    contentScope: stringList(row.content_scope, TABLE, 'content_scope'),
    usePii: bool(row.use_pii),
    allowAnonymous: bool(row.allow_anonymous),
    allowedAlgorithms: stringList(row.allowed_algorithms, TABLE, 'allowed_algorithms'),
    allowedHosts: stringList(row.allowed_hosts, TABLE, 'allowed_hosts'),
    tokenMaxAge: Number(row.token_max_age),
    lti11ConsumerId: row.lti11_consumer_id === null ? null : Number(row.lti11_consumer_id),
    active: bool(row.active),
    selectableBlockTypes: row.selectable_block_types === null || row.selectable_block_types === undefined
      ? null
      : stringList(row.selectable_block_types, TABLE, 'selectable_block_types'),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at)
  }
}

function toRow (r: Lti13RegistrationChanges & { createdAt?: number }): Partial<Lti13RegistrationRow> {
  const row: Partial<Lti13RegistrationRow> = {}
  if (r.name !== undefined) row.name = r.name
  if (r.issuer !== undefined) row.issuer = r.issuer
  if (r.clientId !== undefined) row.client_id = r.clientId
  if (r.authLoginUrl !== undefined) row.auth_login_url = r.authLoginUrl
  if (r.authTokenUrl !== undefined) row.auth_token_url = r.authTokenUrl
  if (r.authTokenAudience !== undefined) row.auth_token_audience = r.authTokenAudience
  if (r.jwksUrl !== undefined) row.jwks_url = r.jwksUrl
  if (r.deploymentPolicy !== undefined) row.deployment_policy = r.deploymentPolicy
  if (r.contentScope !== undefined) row.content_scope = JSON.stringify(r.contentScope)
  if (r.usePii !== undefined) row.use_pii = r.usePii ? 1 : 0
  if (r.allowAnonymous !== undefined) row.allow_anonymous = r.allowAnonymous ? 1 : 0
  if (r.allowedAlgorithms !== undefined) row.allowed_algorithms = JSON.stringify(r.allowedAlgorithms)
  if (r.allowedHosts !== undefined) row.allowed_hosts = JSON.stringify(r.allowedHosts)
  if (r.tokenMaxAge !== undefined) row.token_max_age = r.tokenMaxAge
  if (r.lti11ConsumerId !== undefined) row.lti11_consumer_id = r.lti11ConsumerId
  if (r.active !== undefined) row.active = r.active ? 1 : 0
  if (r.selectableBlockTypes !== undefined) row.selectable_block_types = r.selectableBlockTypes === null ? null : JSON.stringify(r.selectableBlockTypes)
  if (r.createdAt !== undefined) row.created_at = r.createdAt
  if (r.updatedAt !== undefined) row.updated_at = r.updatedAt
  return row
}
