/**
 * `oidc_states`: the server-side half of an LTI 1.3 OIDC login (state id → nonce, registration,
 * browser-binding hash, login target_link_uri), saved at login and consumed once at launch. It is
 * the database implementation of the core's StateStore (src/lti/v13/state-store.ts).
 */
import type { Knex } from 'knex'
import type { StateRecord, StateStore } from '../../lti/v13/state-store.js'
import { knexDialect } from '../connection.js'
import { preparedSql } from '../prepared-statements.js'

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
// Once per LTI 1.3 login and launch: prepared statements whose commits concurrent requests share
// (src/db/prepared-statements.ts, `runGrouped`/`allGrouped`).
const INSERT = 'INSERT INTO oidc_states (state_id, nonce, registration_id, binding_hash, target_link_uri, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'
const DELETE_RETURNING = 'DELETE FROM oidc_states WHERE state_id = ? RETURNING state_id, nonce, registration_id, binding_hash, target_link_uri, expires_at'

export interface OidcStatesRepository extends StateStore {
  /** Removes expired states in a bounded batch; returns how many went. */
  purgeExpired (now: number, limit?: number): Promise<number>
}

export function createOidcStatesRepository (knex: Knex, options: { now?: () => number } = {}): OidcStatesRepository {
  const now = options.now ?? Date.now
  const mysql = knexDialect(knex) === 'mysql'
  const sql = preparedSql(knex)
  return {
    async save (record) {
      await sql.runGrouped(INSERT, [record.stateId, record.nonce, Number(record.registrationId), record.bindingHash, record.targetLinkUri, record.expiresAt.getTime(), now()])
    },

    /**
     * Single use, atomically. Where the database has `DELETE … RETURNING` (SQLite ≥ 3.35, MariaDB ≥
     * 10.5) it is one statement: of two concurrent launches with the same state, one deletes the
     * row and gets it back, the other deletes nothing (on InnoDB it waits for the first one's row
     * lock) and gets no row. On MySQL 8 (no RETURNING): read and delete in one transaction, the
     * read taking the row lock (FOR UPDATE) and the DELETE's affected-row count deciding.
     */
    async consume (stateId) {
      if (await sql.hasDeleteReturning()) {
        const [row] = await sql.allGrouped<Row>(DELETE_RETURNING, [stateId])
        return row === undefined ? null : fromRow(row)
      }
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
