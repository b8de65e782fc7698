/**
 * Rows of `lti11_consumers`, mapped to camelCase records: booleans from 0/1, JSON text columns to
 * string arrays, BIGINT epoch milliseconds to numbers. The secret stays sealed here; only the
 * launch code opens it. Methods take an optional transaction; the caller owns it.
 */
import type { Knex } from 'knex'
import { bool, stringList } from './column-values.js'

export interface Lti11ConsumerRow {
  id: number
  name: string
  consumer_key: string
  secret_enc: string
  instance_guid: string | null
  content_scope: string
  use_pii: number | boolean
  require_user_account: number | boolean
  outcome_hosts: string
  pin_outcome_host: number | boolean
  signature_methods: string
  timestamp_window: number
  active: number | boolean
  created_at: number
  updated_at: number
}

export interface Lti11Consumer {
  id: number
  name: string
  consumerKey: string
  /** AES-GCM envelope, context `lti11_consumers.secret`. */
  secretEnc: string
  instanceGuid: string | null
  contentScope: string[]
  usePii: boolean
  requireUserAccount: boolean
  outcomeHosts: string[]
  pinOutcomeHost: boolean
  signatureMethods: string[]
  timestampWindow: number
  active: boolean
  createdAt: number
  updatedAt: number
}

export type NewLti11Consumer = Omit<Lti11Consumer, 'id'>
export type Lti11ConsumerChanges = Partial<Omit<Lti11Consumer, 'id' | 'createdAt'>>

const TABLE = 'lti11_consumers'

export function createLti11ConsumersRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<Lti11ConsumerRow>(TABLE)
  return {
    async list (trx?: Knex.Transaction): Promise<Lti11Consumer[]> {
      return (await q(trx).select('*').orderBy('id', 'asc')).map(fromRow)
    },
    async findById (id: number, trx?: Knex.Transaction): Promise<Lti11Consumer | undefined> {
      const row = await q(trx).where({ id }).first()
      return row ? fromRow(row) : undefined
    },
    /** The launch lookup: `oauth_consumer_key` → consumer. */
    async findByKey (consumerKey: string, trx?: Knex.Transaction): Promise<Lti11Consumer | undefined> {
      const row = await q(trx).where({ consumer_key: consumerKey }).first()
      return row ? fromRow(row) : undefined
    },
    /** Throws the driver's unique violation on a duplicate key (see isUniqueViolation). */
    async insert (consumer: NewLti11Consumer, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert(toRow(consumer))
      return Number(id)
    },
    /** Returns the number of rows matched (0: no such consumer). */
    async update (id: number, changes: Lti11ConsumerChanges, trx?: Knex.Transaction): Promise<number> {
      const row = toRow(changes)
      if (Object.keys(row).length === 0) return (await q(trx).where({ id }).first()) ? 1 : 0
      return await q(trx).where({ id }).update(row)
    },
    /** Deletes the consumer; its users, outcome services, assignments and nonces go with it (FK cascade). */
    async remove (id: number, trx?: Knex.Transaction): Promise<number> {
      return await q(trx).where({ id }).delete()
    }
  }
}

export type Lti11ConsumersRepository = ReturnType<typeof createLti11ConsumersRepository>

export function fromRow (row: Lti11ConsumerRow): Lti11Consumer {
  return {
    id: Number(row.id),
    name: row.name,
    consumerKey: row.consumer_key,
    secretEnc: row.secret_enc,
    instanceGuid: row.instance_guid,
    contentScope: stringList(row.content_scope, TABLE, 'content_scope'),
    usePii: bool(row.use_pii),
    requireUserAccount: bool(row.require_user_account),
    outcomeHosts: stringList(row.outcome_hosts, TABLE, 'outcome_hosts'),
    pinOutcomeHost: bool(row.pin_outcome_host),
    signatureMethods: stringList(row.signature_methods, TABLE, 'signature_methods'),
    timestampWindow: Number(row.timestamp_window),
    active: bool(row.active),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at)
  }
}

/** Only the given fields; booleans as 0/1 (better-sqlite3 binds no booleans), lists as JSON text. */
function toRow (c: Lti11ConsumerChanges & { createdAt?: number }): Partial<Lti11ConsumerRow> {
  const row: Partial<Lti11ConsumerRow> = {}
  if (c.name !== undefined) row.name = c.name
  if (c.consumerKey !== undefined) row.consumer_key = c.consumerKey
  if (c.secretEnc !== undefined) row.secret_enc = c.secretEnc
  if (c.instanceGuid !== undefined) row.instance_guid = c.instanceGuid
  if (c.contentScope !== undefined) row.content_scope = JSON.stringify(c.contentScope)
  if (c.usePii !== undefined) row.use_pii = c.usePii ? 1 : 0
  if (c.requireUserAccount !== undefined) row.require_user_account = c.requireUserAccount ? 1 : 0
  if (c.outcomeHosts !== undefined) row.outcome_hosts = JSON.stringify(c.outcomeHosts)
  if (c.pinOutcomeHost !== undefined) row.pin_outcome_host = c.pinOutcomeHost ? 1 : 0
  if (c.signatureMethods !== undefined) row.signature_methods = JSON.stringify(c.signatureMethods)
  if (c.timestampWindow !== undefined) row.timestamp_window = c.timestampWindow
  if (c.active !== undefined) row.active = c.active ? 1 : 0
  if (c.createdAt !== undefined) row.created_at = c.createdAt
  if (c.updatedAt !== undefined) row.updated_at = c.updatedAt
  return row
}
