/**
 * `oidc_states`: the server-side half of an LTI 1.3 OIDC login (state id → nonce, registration,
 * browser-binding hash, login target_link_uri), saved at login and consumed once at launch. It is
 * the database implementation of the core's StateStore (src/lti/v13/state-store.ts).
 */
import type { Knex } from 'knex'
import type { StateRecord, StateStore } from '../../lti/v13/state-store.js'
import { knexDialect } from '../connection.js'

interface Row {
  id: number
  state_id: string
  nonce: string
  registration_id: number
  binding_hash: string
  target_link_uri: string
  expires_at: number | string
  created_at: number | string
}

const TABLE = 'oidc_states'

export interface OidcStatesRepository extends StateStore {
  /** Removes expired states in a bounded batch; returns how many went. */
  purgeExpired (now: number, limit?: number): Promise<number>
}

export function createOidcStatesRepository (knex: Knex, options: { now?: () => number } = {}): OidcStatesRepository {
  const now = options.now ?? Date.now
  const mysql = knexDialect(knex) === 'mysql'
  return {
    async save (record) {
      await knex<Row>(TABLE).insert({
        state_id: record.stateId,
        nonce: record.nonce,
        registration_id: Number(record.registrationId),
        binding_hash: record.bindingHash,
        target_link_uri: record.targetLinkUri,
        expires_at: record.expiresAt.getTime(),
        created_at: now()
      } as never)
    },

    /**
     * Read and delete in one transaction; the DELETE's affected-row count decides who consumed the
     * state, so two concurrent launches with the same state can never both get the record. On
     * MySQL/MariaDB the read also takes the row lock (FOR UPDATE), so the loser waits for the
     * winner's commit and then finds nothing; SQLite has one connection and one writer anyway.
     */
    async consume (stateId) {
      return await knex.transaction(async trx => {
        const query = trx<Row>(TABLE).where({ state_id: stateId }).first()
        const row = (mysql ? await query.forUpdate() : await query) as Row | undefined
        if (row === undefined) return null
        const deleted = await trx<Row>(TABLE).where({ state_id: stateId }).delete()
        if (deleted !== 1) return null
        return fromRow(row)
      })
    },

    async purgeExpired (at, limit = 5000) {
      const ids = (await knex<Row>(TABLE).select('id').where('expires_at', '<', at).limit(limit)).map(r => r.id)
      if (ids.length === 0) return 0
      return await knex<Row>(TABLE).whereIn('id', ids).delete()
    }
  }
}

function fromRow (row: Row): StateRecord {
  return {
    stateId: row.state_id,
    nonce: row.nonce,
    registrationId: Number(row.registration_id),
    bindingHash: row.binding_hash,
    targetLinkUri: row.target_link_uri,
    expiresAt: new Date(Number(row.expires_at))
  }
}
