import t from 'tap'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ExtensionlessMigrationSource } from '../../src/db/migration-source.js'
import { migrateLatest, migrateRollbackAll, migrationStatus } from '../../src/db/migrate.js'
import { createTestDb } from '../helpers/db.js'

const TABLES = ['lti11_consumers', 'lti_users', 'outcome_services', 'graded_assignments', 'lti13_registrations',
  'lti13_deployments', 'lti_profiles', 'graded_resources', 'tool_keys', 'oauth_nonces', 'oidc_states',
  'processed_events', 'problem_scores', 'passbacks', 'dead_letters']

t.test('the whole data model migrates up, down and up again', async t => {
  const { knex } = await createTestDb(t, { migrate: false })
  const applied = await migrateLatest(knex)
  t.equal(applied.length, TABLES.length)
  t.notOk(applied.some(n => /\.(ts|js)$/.test(n)), 'names carry no extension, so .ts and .js builds share a history')
  for (const table of TABLES) t.ok(await knex.schema.hasTable(table), table)
  t.same((await migrationStatus(knex)).pending, [])
  await migrateRollbackAll(knex)
  for (const table of TABLES) t.notOk(await knex.schema.hasTable(table), `${table} dropped`)
  t.equal((await migrateLatest(knex)).length, TABLES.length)
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
