import type { Knex } from 'knex'

/**
 * Which block types an instructor may pick in the Deep Linking picker, per registration: a JSON
 * list, NULL meaning the default (sequential, vertical, problem, html, video).
 */
export async function up (knex: Knex): Promise<void> {
  await knex.schema.alterTable('lti13_registrations', t => {
    t.text('selectable_block_types').nullable()
  })
}

export async function down (knex: Knex): Promise<void> {
  await knex.schema.alterTable('lti13_registrations', t => {
    t.dropColumn('selectable_block_types')
  })
}
