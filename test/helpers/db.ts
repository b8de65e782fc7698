/**
 * A fresh, migrated database per test file: SQLite (in memory) by default, MariaDB/MySQL when
 * TEST_DATABASE=mariadb (each file gets its own database, so tap's parallel jobs don't collide).
 *
 *   TEST_DATABASE=mariadb TEST_MARIADB_URL=mysql://lti:lti@127.0.0.1:33061/lti_test npm test
 *
 * Under CI an unreachable MariaDB fails the test loudly; on a laptop it does too: the suite never
 * silently falls back to SQLite when MariaDB was asked for.
 */
import { randomBytes } from 'node:crypto'
import knexFactory, { type Knex } from 'knex'
import { createKnex } from '../../src/db/connection.js'
import { migrateLatest } from '../../src/db/migrate.js'

export type TestBackend = 'sqlite' | 'mariadb'

export const testBackend: TestBackend = process.env.TEST_DATABASE === 'mariadb' ? 'mariadb' : 'sqlite'
const mariadbUrl = process.env.TEST_MARIADB_URL ?? 'mysql://lti:lti@127.0.0.1:33061/lti_test'

export interface TestDb { knex: Knex, url: string, backend: TestBackend, destroy (): Promise<void> }

interface Teardown { teardown (fn: () => unknown): void }

/** Creates the database and registers its removal with the test's teardown. */
export async function createTestDb (t?: Teardown, options: { migrate?: boolean } = {}): Promise<TestDb> {
  const db = testBackend === 'mariadb' ? await createMariadb() : await createSqlite()
  if (options.migrate !== false) await migrateLatest(db.knex)
  t?.teardown(() => db.destroy())
  return db
}

async function createSqlite (): Promise<TestDb> {
  const url = 'sqlite::memory:'
  const knex = createKnex({ url })
  return { knex, url, backend: 'sqlite', destroy: async () => { await knex.destroy() } }
}

async function createMariadb (): Promise<TestDb> {
  const base = new URL(mariadbUrl)
  const name = `lti_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
  const admin = knexFactory({ client: 'mysql2', connection: { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) }, pool: { min: 0, max: 1 } })
  try {
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  } catch (err) {
    await admin.destroy()
    throw new Error(`TEST_DATABASE=mariadb but MariaDB at ${base.host} is not reachable (${(err as Error).message}); start it with scripts/test-mariadb.sh start`)
  }
  const url = `mysql://${base.username}:${base.password}@${base.host}/${name}`
  const knex = createKnex({ url, poolMax: 5 })
  return {
    knex,
    url,
    backend: 'mariadb',
    async destroy () {
      await knex.destroy()
      await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``)
      await admin.destroy()
    }
  }
}
