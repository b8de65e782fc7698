import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti13_registrations', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.string('name', 255).notNullable()
    t.string('issuer', 255).notNullable()
    t.string('client_id', 255).notNullable()
    t.text('auth_login_url').notNullable()
    t.text('auth_token_url').notNullable()
    t.text('auth_token_audience').nullable() // RFC 7523 aud when it differs from the token URL
    t.text('jwks_url').notNullable()
    t.string('deployment_policy', 16).notNullable().defaultTo('strict') // strict | record
    t.text('content_scope').notNullable() // JSON array of patterns
    t.boolean('use_pii').notNullable().defaultTo(false)
    t.boolean('allow_anonymous').notNullable().defaultTo(false)
    t.text('allowed_algorithms').notNullable() // JSON array, RS256 by default
    t.text('allowed_hosts').notNullable() // JSON array: extra hosts for lineitems/tokens beyond the issuer's
    t.integer('token_max_age').notNullable().defaultTo(300)
    t.integer('lti11_consumer_id').unsigned().nullable()
      .references('id').inTable('lti11_consumers').onDelete('SET NULL')
      .withKeyName('fk_lti13_registrations__lti11_consumer')
    t.boolean('active').notNullable().defaultTo(true)
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['issuer', 'client_id'], { indexName: 'uq_lti13_registrations__issuer_client_id' })
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti13_registrations')
}
