import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

/**
 * One-time LTI Dynamic Registration invites. Only the SHA-256 of the invite token is stored, so a
 * database dump does not hand out live invites. Single use is decided by the database: the claim is
 * one conditional UPDATE (`used_at IS NULL AND expires_at > now`) whose row count says who won.
 */
export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti13_registration_invites', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.string('token_hash', 64).notNullable()
    t.text('content_scope').notNullable() // JSON list of course/usage key patterns for the new registration
    t.text('allowed_hosts').notNullable() // JSON list of extra platform hosts (Canvas Cloud's split hosts)
    t.boolean('auto_activate').notNullable().defaultTo(false)
    t.bigInteger('expires_at').notNullable()
    t.bigInteger('used_at').nullable()
    t.integer('registration_id').unsigned().nullable()
      .references('id').inTable('lti13_registrations').onDelete('SET NULL')
      .withKeyName('fk_lti13_registration_invites__registration')
    t.text('warnings').nullable() // JSON list: what the platform granted less than asked
    t.bigInteger('created_at').notNullable()
    t.unique(['token_hash'], { indexName: 'uq_lti13_registration_invites__token_hash' })
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti13_registration_invites')
}
