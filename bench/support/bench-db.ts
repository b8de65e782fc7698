/**
 * A throwaway database for one bench part: SQLite in a temporary file (WAL, as in production, not
 * `:memory:`), or a fresh database on a MariaDB server, dropped at the end. The service opens its
 * own pool from the URL, as `lti-provider serve` does.
 */
import { randomBytes } from 'node:crypto'
import knexFactory from 'knex'
import { tempPath } from './temp.js'

export type BenchBackend = 'sqlite' | 'mariadb'

export interface BenchDb {
  backend: BenchBackend
  url: string
  drop: () => Promise<void>
}

/** The throwaway MariaDB of scripts/test-mariadb.sh. */
export const DEFAULT_MARIADB_URL = 'mysql://lti:lti@127.0.0.1:33061'

export async function openBenchDb (backend: BenchBackend, mariadbUrl = DEFAULT_MARIADB_URL): Promise<BenchDb> {
  if (backend === 'sqlite') return { backend, url: `sqlite:${tempPath('bench', '.sqlite')}`, drop: async () => {} }
  const base = new URL(mariadbUrl)
  const name = `lti_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password), connectTimeout: 3000 },
    pool: { min: 0, max: 1 }
  })
  try {
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  } catch (err) {
    await admin.destroy()
    throw new MariadbUnreachable(`${base.host}: ${(err as Error).message}`)
  }
  return {
    backend,
    url: `mysql://${base.username}:${base.password}@${base.host}/${name}`,
    async drop () {
      await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => {})
      await admin.destroy()
    }
  }
}

export class MariadbUnreachable extends Error {}
