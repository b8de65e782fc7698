import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('passbacks', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.string('kind', 8).notNullable() // lti11 | lti13
    t.integer('graded_assignment_id').unsigned().nullable()
      .references('id').inTable('graded_assignments').onDelete('CASCADE')
      .withKeyName('fk_passbacks__graded_assignment')
    t.integer('graded_resource_id').unsigned().nullable()
      .references('id').inTable('graded_resources').onDelete('CASCADE')
      .withKeyName('fk_passbacks__graded_resource')
    // 'a:<assignment id>' or 'r:<resource id>': one key for both kinds, so the database refuses a
    // second job for the same target and version ("never twice for one change").
    t.string('target_key', 32).notNullable()
    t.integer('version').notNullable()
    t.string('method', 16).notNullable() // leaf | subsection | unit | resync
    t.double('score_given').nullable() // null: computed when due (composites)
    t.double('score_maximum').nullable()
    t.bigInteger('event_time_us').notNullable() // the event's time: AGS timestamp, stable across retries
    t.string('ce_id', 128).nullable()
    t.string('platform_host', 255).notNullable()
    t.string('status', 16).notNullable() // pending | delivering | delivered | failed | dead | superseded
    t.integer('attempts').notNullable().defaultTo(0)
    t.text('last_error').nullable()
    t.bigInteger('due_at').notNullable()
    t.bigInteger('lease_until').nullable()
    t.string('lease_owner', 64).nullable()
    t.bigInteger('delivered_at').nullable()
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['target_key', 'version'], { indexName: 'uq_passbacks__target_key_version' })
    t.index(['status', 'due_at'], 'ix_passbacks__status_due_at')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('passbacks')
}
