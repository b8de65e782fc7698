import type { Knex } from 'knex'
import type { IdentityRow, IdentityTable, RelevantUserSource } from './relevant-users.js'

/** Pages of (id, lms_user_id) by primary key: an index range scan, cheap enough to run every few seconds. */
export function createRelevantUserSource (knex: Knex): RelevantUserSource {
  return {
    async page (table: IdentityTable, afterId: number, limit: number): Promise<IdentityRow[]> {
      const rows = await knex(table).select('id', 'lms_user_id').where('id', '>', afterId).orderBy('id', 'asc').limit(limit) as
        Array<{ id: number | string, lms_user_id: number | string }>
      return rows.map(row => ({ id: Number(row.id), lmsUserId: Number(row.lms_user_id) }))
    }
  }
}
