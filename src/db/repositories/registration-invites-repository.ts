/**
 * Rows of `lti13_registration_invites`: one-time Dynamic Registration invites, stored by the hash
 * of their token. `claim` is the single-use decision (one conditional UPDATE); `release` hands an
 * invite back when the exchange failed before anything was stored. Optional transaction on every
 * method; the caller owns it.
 */
import type { Knex } from 'knex'
import { bool, stringList } from './column-values.js'

const TABLE = 'lti13_registration_invites'

export interface RegistrationInviteRow {
  id: number
  token_hash: string
  content_scope: string
  allowed_hosts: string
  auto_activate: number | boolean
  expires_at: number | string
  used_at: number | string | null
  registration_id: number | null
  warnings: string | null
  created_at: number | string
}

export interface RegistrationInvite {
  id: number
  tokenHash: string
  contentScope: string[]
  allowedHosts: string[]
  autoActivate: boolean
  expiresAt: number
  usedAt: number | null
  registrationId: number | null
  warnings: string[]
  createdAt: number
}

export type NewRegistrationInvite = Omit<RegistrationInvite, 'id' | 'usedAt' | 'registrationId' | 'warnings'>

export function createRegistrationInvitesRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)<RegistrationInviteRow>(TABLE)
  return {
    async insert (invite: NewRegistrationInvite, trx?: Knex.Transaction): Promise<number> {
      const [id] = await q(trx).insert({
        token_hash: invite.tokenHash,
        content_scope: JSON.stringify(invite.contentScope),
        allowed_hosts: JSON.stringify(invite.allowedHosts),
        auto_activate: invite.autoActivate,
        expires_at: invite.expiresAt,
        created_at: invite.createdAt
      })
      return Number(id)
    },
    async findById (id: number, trx?: Knex.Transaction): Promise<RegistrationInvite | undefined> {
      const row = await q(trx).where({ id }).first()
      return row ? fromRow(row) : undefined
    },
    async findByHash (tokenHash: string, trx?: Knex.Transaction): Promise<RegistrationInvite | undefined> {
      const row = await q(trx).where({ token_hash: tokenHash }).first()
      return row ? fromRow(row) : undefined
    },
    async list (trx?: Knex.Transaction): Promise<RegistrationInvite[]> {
      return (await q(trx).select('*').orderBy('id', 'desc')).map(fromRow)
    },
    /** True for exactly one caller per unused, unexpired invite, however many race. */
    async claim (tokenHash: string, at: number, trx?: Knex.Transaction): Promise<boolean> {
      const n = await q(trx).where({ token_hash: tokenHash }).whereNull('used_at').where('expires_at', '>', at).update({ used_at: at })
      return n === 1
    },
    /** Gives a claimed invite back, unless a registration was already stored through it. */
    async release (id: number, trx?: Knex.Transaction): Promise<void> {
      await q(trx).where({ id }).whereNull('registration_id').update({ used_at: null })
    },
    async complete (id: number, registrationId: number, warnings: readonly string[], trx?: Knex.Transaction): Promise<void> {
      await q(trx).where({ id }).update({ registration_id: registrationId, warnings: JSON.stringify(warnings) })
    },
    async remove (id: number, trx?: Knex.Transaction): Promise<number> {
      return await q(trx).where({ id }).delete()
    }
  }
}

function fromRow (row: RegistrationInviteRow): RegistrationInvite {
  return {
    id: Number(row.id),
    tokenHash: row.token_hash,
    contentScope: stringList(row.content_scope, TABLE, 'content_scope'),
    allowedHosts: stringList(row.allowed_hosts, TABLE, 'allowed_hosts'),
    autoActivate: bool(row.auto_activate),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
    registrationId: row.registration_id === null ? null : Number(row.registration_id),
    warnings: row.warnings === null ? [] : stringList(row.warnings, TABLE, 'warnings'),
    createdAt: Number(row.created_at)
  }
}
