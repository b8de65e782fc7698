import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('oauth_nonces', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.integer('consumer_id').unsigned().notNullable()
      .references('id').inTable('lti11_consumers').onDelete('CASCADE')
      .withKeyName('fk_oauth_nonces__consumer')
    t.string('nonce', 128).notNullable()
    t.bigInteger('expires_at').notNullable() // ≥ 2× the timestamp window after the launch
    // The insert itself is the replay check: a second insert of the same nonce fails.
    t.unique(['consumer_id', 'nonce'], { indexName: 'uq_oauth_nonces__consumer_id_nonce' })
    t.index(['expires_at'], 'ix_oauth_nonces__expires_at')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('oauth_nonces')
}
