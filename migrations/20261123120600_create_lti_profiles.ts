import type { Knex } from 'knex'

export async function up (knex: Knex): Promise<void> {
  await knex.schema.createTable('lti_profiles', t => {
    t.increments('id').primary()
    t.integer('registration_id').unsigned().notNullable()
      .references('id').inTable('lti13_registrations').onDelete('CASCADE')
      .withKeyName('fk_lti_profiles__registration')
    t.string('sub', 255).notNullable()
    t.bigInteger('lms_user_id').notNullable()
    t.string('lms_username', 150).notNullable()
    t.bigInteger('created_at').notNullable()
    t.bigInteger('updated_at').notNullable()
    t.unique(['registration_id', 'sub'], { indexName: 'uq_lti_profiles__registration_id_sub' })
    t.index(['lms_user_id'], 'ix_lti_profiles__lms_user_id')
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.dropTable('lti_profiles')
}
