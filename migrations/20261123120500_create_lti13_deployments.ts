import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti13_deployments', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.integer('registration_id').unsigned().notNullable()
      .references('id').inTable('lti13_registrations').onDelete('CASCADE')
      .withKeyName('fk_lti13_deployments__registration')
    t.string('deployment_id', 255).notNullable()
    t.string('source', 16).notNullable().defaultTo('admin') // admin | recorded (first seen at launch)
    t.bigInteger('created_at').notNullable()
    t.unique(['registration_id', 'deployment_id'], { indexName: 'uq_lti13_deployments__registration_id_deployment_id' })
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti13_deployments')
}
