import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti_users', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.integer('consumer_id').unsigned().notNullable()
      .references('id').inTable('lti11_consumers').onDelete('CASCADE')
      .withKeyName('fk_lti_users__consumer')
    t.string('lti_user_id', 255).notNullable()
    t.bigInteger('lms_user_id').notNullable()
    t.string('lms_username', 150).notNullable()
    // The account's email as the LMS has it (synthetic unless PII is on): the relay handoff must send
    // exactly this address, because the LMS links its LTI login by email.
    t.string('lms_email', 254).notNullable().defaultTo('') // '' = unknown (looked up when needed)
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['consumer_id', 'lti_user_id'], { indexName: 'uq_lti_users__consumer_id_lti_user_id' })
    t.index(['lms_user_id'], 'ix_lti_users__lms_user_id')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti_users')
}
