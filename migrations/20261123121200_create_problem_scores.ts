import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('problem_scores', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.bigInteger('lms_user_id').notNullable()
    t.string('course_key', 255).notNullable()
    t.string('usage_key', 255).notNullable()
    t.double('weighted_earned').notNullable()
    t.double('weighted_possible').notNullable()
    t.boolean('score_deleted').notNullable().defaultTo(false)
    // The event's `modified`, microseconds since the epoch: an older event never overwrites a newer score.
    t.bigInteger('modified_us').notNullable()
    t.string('ce_id', 128).notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['lms_user_id', 'usage_key'], { indexName: 'uq_problem_scores__lms_user_id_usage_key' })
    t.index(['lms_user_id', 'course_key'], 'ix_problem_scores__lms_user_id_course_key')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('problem_scores')
}
