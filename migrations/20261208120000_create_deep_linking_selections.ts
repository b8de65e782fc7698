import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

/**
 * One row per open Deep Linking content selection: the validated request settings the answer
 * needs (return URL, `data`, accept_* flags, deployment), written when the picker opens and
 * deleted when the instructor submits or cancels. The DELETE's row count makes the selection
 * single use; the picker's pages carry only a signed token naming the row.
 */
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('deep_linking_selections', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.string('selection_id', 64).notNullable()
    t.integer('registration_id').unsigned().notNullable()
      .references('id').inTable('lti13_registrations').onDelete('CASCADE')
      .withKeyName('fk_deep_linking_selections__registration')
    t.string('deployment_id', 255).notNullable()
    t.text('settings').notNullable()
    t.bigInteger('expires_at').notNullable()
    t.bigInteger('created_at').notNullable()
    t.unique(['selection_id'], { indexName: 'uq_deep_linking_selections__selection_id' })
    t.index(['expires_at'], 'ix_deep_linking_selections__expires_at')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('deep_linking_selections')
}
