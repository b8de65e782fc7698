import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('outcome_services', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.integer('consumer_id').unsigned().notNullable()
      .references('id').inTable('lti11_consumers').onDelete('CASCADE')
      .withKeyName('fk_outcome_services__consumer')
    t.text('url').notNullable()
    // URLs are too long for a unique index on MySQL: the SHA-256 of the URL carries uniqueness.
    t.string('url_sha256', 64).notNullable()
    t.bigInteger('created_at').notNullable()
    t.unique(['consumer_id', 'url_sha256'], { indexName: 'uq_outcome_services__consumer_id_url_sha256' })
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('outcome_services')
}
