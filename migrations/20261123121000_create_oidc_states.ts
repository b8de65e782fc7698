import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('oidc_states', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.string('state_id', 64).notNullable()
    t.string('nonce', 128).notNullable()
    t.integer('registration_id').unsigned().notNullable()
      .references('id').inTable('lti13_registrations').onDelete('CASCADE')
      .withKeyName('fk_oidc_states__registration')
    t.string('binding_hash', 64).notNullable() // SHA-256 of the browser binding value
    t.text('target_link_uri').notNullable()
    t.bigInteger('expires_at').notNullable()
    t.bigInteger('created_at').notNullable()
    // Consumed by DELETE: the row count of the delete decides which request wins.
    t.unique(['state_id'], { indexName: 'uq_oidc_states__state_id' })
    t.index(['expires_at'], 'ix_oidc_states__expires_at')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('oidc_states')
}
