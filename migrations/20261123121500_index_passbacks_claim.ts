import type { Knex } from 'knex'

/**
 * Indexes for the outbox claim (src/db/outbox/claims.ts, `dueCandidates`), which
 * reads each claimable state on its own so that every read walks an index in (due time, id) order
 * and stops at its LIMIT instead of sorting every due row:
 * - waiting jobs (`pending`, `failed`): `ix_passbacks__status_due_at` (20261123121300) already
 *   ends in the primary key on both engines (SQLite's rowid, InnoDB's clustered key), so it is
 *   (status, due_at, id): the claim's WHERE and ORDER BY;
 * - expired leases: (status, lease_until), a range that is almost always empty;
 * - the "target busy" NOT EXISTS: (target_key, status), one probe per candidate even when a target
 *   has many versions (a burst of score changes).
 */
export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('passbacks', t => {
    t.index(['status', 'lease_until'], 'ix_passbacks__status_lease_until')
    t.index(['target_key', 'status'], 'ix_passbacks__target_key_status')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('passbacks', t => {
    t.dropIndex(['status', 'lease_until'], 'ix_passbacks__status_lease_until')
    t.dropIndex(['target_key', 'status'], 'ix_passbacks__target_key_status')
  })
}
