/** `oauth_nonces`: the LTI 1.1 replay store. The unique key makes the insert the check. */
import type { Knex } from 'knex'
import { isUniqueViolation } from '../connection.js'
import { preparedSql } from '../prepared-statements.js'

// Once per LTI 1.1 launch: a prepared statement whose commit concurrent launches share
// (src/db/prepared-statements.ts, `runGrouped`); each launch still gets its own unique-key answer.
const INSERT = 'INSERT INTO oauth_nonces (consumer_id, nonce, expires_at) VALUES (?, ?, ?)'

export function createOAuthNoncesRepository (knex: Knex) {
  const sql = preparedSql(knex)
  return {
    /** true when recorded, false when this consumer already used the nonce (a replay). */
    async record (consumerId: number, nonce: string, expiresAt: number): Promise<boolean> {
      try {
        await sql.runGrouped(INSERT, [consumerId, nonce, expiresAt])
        return true
      } catch (err) {
        if (isUniqueViolation(err)) return false
        throw err
      }
    },
    /** Removes expired nonces in bounded batches; returns how many went. */
    async purgeExpired (now: number, limit = 5000): Promise<number> {
      const ids = (await knex('oauth_nonces').select('id').where('expires_at', '<', now).limit(limit)).map(r => r.id as number)
      if (ids.length === 0) return 0
      return await knex('oauth_nonces').whereIn('id', ids).delete()
    }
  }
}
