import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('graded_resources', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.integer('profile_id').unsigned().notNullable()
      .references('id').inTable('lti_profiles').onDelete('CASCADE')
      .withKeyName('fk_graded_resources__profile')
    t.string('deployment_id', 255).notNullable()
    t.bigInteger('lms_user_id').notNullable()
    t.string('course_key', 255).notNullable()
    t.string('usage_key', 255).notNullable()
    t.text('lineitem_url').notNullable()
    t.text('scopes').notNullable() // JSON array of AGS scopes granted at launch
    t.integer('version_number').notNullable().defaultTo(0)
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['profile_id', 'usage_key'], { indexName: 'uq_graded_resources__profile_id_usage_key' })
    t.index(['lms_user_id', 'course_key'], 'ix_graded_resources__lms_user_id_course_key')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('graded_resources')
}
