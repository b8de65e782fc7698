import type { Knex } from 'knex'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti_users', t => {
    t.increments('id').primary()
    t.integer('consumer_id').unsigned().notNullable()
      .references('id').inTable('lti11_consumers').onDelete('CASCADE')
      .withKeyName('fk_lti_users__consumer')
    t.string('lti_user_id', 255).notNullable()
    t.bigInteger('lms_user_id').notNullable()
    t.string('lms_username', 150).notNullable()
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['consumer_id', 'lti_user_id'], { indexName: 'uq_lti_users__consumer_id_lti_user_id' })
    t.index(['lms_user_id'], 'ix_lti_users__lms_user_id')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti_users')
}
