import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExtensionlessMigrationSource } from '../../src/db/migration-source.js'
import { migrateLatest, migrateRollbackAll, migrationStatus } from '../../src/db/migrate.js'
import { createTestDb } from '../helpers/db.js'

const TABLES = ['lti11_consumers', 'lti_users', 'outcome_services', 'graded_assignments', 'lti13_registrations',
  'lti13_deployments', 'lti_profiles', 'graded_resources', 'tool_keys', 'oauth_nonces', 'oidc_states',
  'processed_events', 'problem_scores', 'passbacks', 'dead_letters', 'lti13_registration_invites', 'deep_linking_selections']
/** Migrations that only add indexes or columns to the tables above, in order. */
const INDEX_MIGRATIONS = ['20261123121500_index_passbacks_claim']
const COLUMN_MIGRATIONS = ['20261208120100_add_registration_selectable_block_types']
const ALTERING = [...INDEX_MIGRATIONS, ...COLUMN_MIGRATIONS]

t.test('the whole data model migrates up, down and up again', async t => {
  const { knex } = await createTestDb(t, { migrate: false })
  const applied = await migrateLatest(knex)
  t.equal(applied.length, TABLES.length + ALTERING.length)
  t.same(applied.filter(name => ALTERING.includes(name)), ALTERING)
  t.notOk(applied.some(n => /\.(ts|js)$/.test(n)), 'names carry no extension, so .ts and .js builds share a history')
  for (const table of TABLES) t.ok(await knex.schema.hasTable(table), table)
  t.same((await migrationStatus(knex)).pending, [])
  await migrateRollbackAll(knex)
  for (const table of TABLES) t.notOk(await knex.schema.hasTable(table), `${table} dropped`)
  t.equal((await migrateLatest(knex)).length, TABLES.length + ALTERING.length)
})

t.test('the outbox claim indexes exist and roll back', async t => {
  const { knex, backend } = await createTestDb(t)
  const indexes = async (): Promise<string[]> => backend === 'sqlite'
    ? (await knex.raw('PRAGMA index_list(passbacks)') as Array<{ name: string }>).map(r => r.name)
    : ((await knex.raw('SHOW INDEX FROM passbacks'))[0] as Array<{ Key_name: string }>).map(r => r.Key_name)
  const claim = ['ix_passbacks__status_lease_until', 'ix_passbacks__target_key_status']
  for (const name of [...claim, 'ix_passbacks__status_due_at']) t.ok((await indexes()).includes(name), name)
  // Down to the index migration: later ones (deep linking) go first.
  await knex.migrate.down({ migrationSource: new ExtensionlessMigrationSource(), name: '20261208120100_add_registration_selectable_block_types' })
  await knex.migrate.down({ migrationSource: new ExtensionlessMigrationSource(), name: '20261208120000_create_deep_linking_selections' })
  t.ok(await knex.schema.hasTable('lti13_registrations') && !(await knex.schema.hasColumn('lti13_registrations', 'selectable_block_types')), 'selectable_block_types dropped')
  await knex.migrate.down({ migrationSource: new ExtensionlessMigrationSource(), name: '20261123121500_index_passbacks_claim' })
  for (const name of claim) t.notOk((await indexes()).includes(name), `${name} dropped`)
  t.ok((await indexes()).includes('ix_passbacks__status_due_at'), 'the table\'s own index stays')
})

t.test('uniqueness is enforced by the database', async t => {
  const { knex } = await createTestDb(t)
  const now = Date.now()
  const [consumerId] = await knex('lti11_consumers').insert({ name: 'c', consumer_key: 'k', secret_enc: 'x', content_scope: '[]', outcome_hosts: '[]', signature_methods: '["HMAC-SHA1"]', created_at: now, updated_at: now })
  await t.rejects(knex('lti11_consumers').insert({ name: 'c2', consumer_key: 'k', secret_enc: 'x', content_scope: '[]', outcome_hosts: '[]', signature_methods: '[]', created_at: now, updated_at: now }), 'consumer key')
  await knex('oauth_nonces').insert({ consumer_id: consumerId, nonce: 'n1', expires_at: now })
  await t.rejects(knex('oauth_nonces').insert({ consumer_id: consumerId, nonce: 'n1', expires_at: now }), 'nonce replay')
  await knex('processed_events').insert({ ce_id: 'e1', ce_type: 't', outcome: 'queued', processed_at: now })
  await t.rejects(knex('processed_events').insert({ ce_id: 'e1', ce_type: 't', outcome: 'queued', processed_at: now }), 'ce_id')
  const job = { kind: 'lti11', target_key: 'a:1', version: 1, method: 'leaf', event_time_us: 1, platform_host: 'h', status: 'pending', due_at: now, created_at: now, updated_at: now }
  await knex('passbacks').insert(job)
  await t.rejects(knex('passbacks').insert(job), 'one job per target and version')
  // LTI identifiers are case-sensitive (binary collation on MariaDB): these are two consumers.
  await knex('lti11_consumers').insert({ name: 'c3', consumer_key: 'K', secret_enc: 'x', content_scope: '[]', outcome_hosts: '[]', signature_methods: '[]', created_at: now, updated_at: now })
  await knex('oauth_nonces').insert({ consumer_id: consumerId, nonce: 'N1', expires_at: now })
  await t.rejects(knex('lti_users').insert({ consumer_id: 999, lti_user_id: 'u', lms_user_id: 1, lms_username: 'x', created_at: now, updated_at: now }), 'foreign keys on')
})

t.test('a failing migration rejects and leaves the history as it was', async t => {
  const { knex } = await createTestDb(t, { migrate: false })
  const dir = mkdtempSync(join(tmpdir(), 'mig-'))
  const body = 'export async function up (knex) { await knex.raw("THIS IS NOT SQL") }\nexport async function down () {}\n'
  // The source loads the extension of the running code (.ts under tap, .js when compiled).
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}')
  writeFileSync(join(dir, '29990101000000_broken.ts'), body)
  writeFileSync(join(dir, '29990101000000_broken.js'), body)
  await t.rejects(knex.migrate.latest({ migrationSource: new ExtensionlessMigrationSource(dir) }), /THIS IS NOT SQL|syntax/i)
  const after = await knex('knex_migrations').count({ n: '*' }).first()
  t.equal(Number(after?.n), 0, 'nothing recorded as applied')
})
