import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('tool_keys', t => {
    caseSensitive(knex, t)
    t.increments('id').primary()
    t.string('kid', 64).notNullable() // RFC 7638 JWK thumbprint
    t.string('alg', 16).notNullable()
    t.string('state', 16).notNullable() // current | next | retired
    // 'current' or 'next' while in that state, NULL once retired: the unique index lets the
    // database guarantee at most one current and one next key (NULLs never collide).
    t.string('slot', 16).nullable()
    t.text('public_jwk').notNullable()
    t.text('private_key_enc').notNullable() // PKCS#8 PEM in an AES-256-GCM envelope
    t.bigInteger('created_at').notNullable()
    t.bigInteger('activated_at').nullable()
    t.bigInteger('retired_at').nullable()
    t.unique(['kid'], { indexName: 'uq_tool_keys__kid' })
    t.unique(['slot'], { indexName: 'uq_tool_keys__slot' })
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('tool_keys')
}
