/** `oauth_nonces`: the LTI 1.1 replay store. The unique key makes the insert the check. */
import type { Knex } from 'knex'
import { isUniqueViolation } from '../connection.js'

export function createOAuthNoncesRepository (knex: Knex) {
  return {
    /** true when recorded, false when this consumer already used the nonce (a replay). */
    async record (consumerId: number, nonce: string, expiresAt: number): Promise<boolean> {
      try {
        await knex('oauth_nonces').insert({ consumer_id: consumerId, nonce, expires_at: expiresAt })
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
