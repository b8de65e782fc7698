import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti11_consumers', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.string('name', 255).notNullable()
    t.string('consumer_key', 255).notNullable()
    // AES-256-GCM envelope (src/crypto/secret-box.ts); never returned by the API.
    t.text('secret_enc').notNullable()
    t.string('instance_guid', 255).nullable()
    t.text('content_scope').notNullable() // JSON array of patterns; empty = nothing launchable
    t.boolean('use_pii').notNullable().defaultTo(false)
    t.boolean('require_user_account').notNullable().defaultTo(false)
    t.text('outcome_hosts').notNullable() // JSON array of allowed outcome URL hosts
    t.boolean('pin_outcome_host').notNullable().defaultTo(true) // pin the first host seen when the list is empty
    t.text('signature_methods').notNullable() // JSON array: HMAC-SHA1, optionally HMAC-SHA256
    t.integer('timestamp_window').notNullable().defaultTo(300)
    t.boolean('active').notNullable().defaultTo(true)
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['consumer_key'], { indexName: 'uq_lti11_consumers__consumer_key' })
    t.index(['instance_guid'], 'ix_lti11_consumers__instance_guid')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti11_consumers')
}
