import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('graded_assignments', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.integer('lti_user_id').unsigned().notNullable()
      .references('id').inTable('lti_users').onDelete('CASCADE')
      .withKeyName('fk_graded_assignments__lti_user')
    t.integer('outcome_service_id').unsigned().notNullable()
      .references('id').inTable('outcome_services').onDelete('CASCADE')
      .withKeyName('fk_graded_assignments__outcome_service')
    // Denormalised from lti_users so a score event (keyed by LMS user id) finds its launches in one query.
    t.bigInteger('lms_user_id').notNullable()
    t.string('course_key', 255).notNullable()
    t.string('usage_key', 255).notNullable()
    t.text('lis_result_sourcedid').notNullable()
    // edx-platform's version guard: bumped on every score change, composites send only the newest.
    t.integer('version_number').notNullable().defaultTo(0)
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['lti_user_id', 'usage_key'], { indexName: 'uq_graded_assignments__lti_user_id_usage_key' })
    t.index(['lms_user_id', 'course_key'], 'ix_graded_assignments__lms_user_id_course_key')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('graded_assignments')
}
