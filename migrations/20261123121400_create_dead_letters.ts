import type { Knex } from 'knex'
import { caseSensitive } from '../src/db/migration-helpers.js'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('dead_letters', t => {
    caseSensitive(knex, t)
    t.bigIncrements('id').primary()
    t.string('topic', 255).notNullable()
    t.integer('partition').notNullable()
    t.string('offset', 32).notNullable() // Kafka offsets are int64: kept as the string kafkajs gives
    t.binary('message_key').nullable()
    t.text('headers').notNullable() // JSON object of header name → UTF-8 value(s)
    t.binary('message_value').nullable()
    t.string('error_code', 64).notNullable()
    t.text('error').notNullable()
    t.string('status', 16).notNullable().defaultTo('new') // new | replayed | discarded
    t.bigInteger('created_at').notNullable()
    t.unique(['topic', 'partition', 'offset'], { indexName: 'uq_dead_letters__topic_partition_offset' })
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('dead_letters')
}
