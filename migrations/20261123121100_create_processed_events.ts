import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('processed_events', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.string('ce_id', 128).notNullable()
    t.string('ce_type', 255).notNullable()
    t.string('outcome', 16).notNullable() // queued | ignored
    t.bigInteger('processed_at').notNullable()
    t.unique(['ce_id'], { indexName: 'uq_processed_events__ce_id' })
    t.index(['processed_at'], 'ix_processed_events__processed_at')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('processed_events')
}
