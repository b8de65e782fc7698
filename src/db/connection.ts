/**
 * Builds the knex instance from DATABASE_URL: SQLite (better-sqlite3) for one node and the demo,
 * MySQL 8 / MariaDB 10.6+ (mysql2) in production.
 */
import { mkdirSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import knexFactory, { type Knex } from 'knex'
import { registerErrors } from '../errors.js'
import { DatabaseUrlError, parseMysqlUrl } from './database-url.js'

export { DatabaseUrlError } from './database-url.js'

export type Dialect = 'sqlite' | 'mysql'

export interface DatabaseOptions {
  url: string
  poolMax?: number
}

export function dialectOf (url: string): Dialect {
  if (url.startsWith('sqlite:')) return 'sqlite'
  if (url.startsWith('mysql://') || url.startsWith('mariadb://')) return 'mysql'
  throw new DatabaseUrlError('DATABASE_URL: unknown scheme; use sqlite:<file> or mysql://user:pass@host:3306/db')
}

export function createKnex (options: DatabaseOptions): Knex {
  const dialect = dialectOf(options.url)
  if (dialect === 'sqlite') return createSqlite(options.url)
  return createMysql(options.url, options.poolMax ?? 10)
}

function createSqlite (url: string): Knex {
  const target = url.slice('sqlite:'.length)
  if (!target) throw new DatabaseUrlError('DATABASE_URL: sqlite: needs a file name, e.g. sqlite:./data/lti-provider.sqlite')
  const memory = target === ':memory:'
  const filename = memory ? ':memory:' : resolve(target)
  if (!memory) mkdirSync(dirname(filename), { recursive: true })
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      // One connection: SQLite has one writer anyway, and transactions must not interleave.
      min: 1,
      max: 1,
      afterCreate (conn: { pragma: (s: string) => unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          if (!memory) conn.pragma('journal_mode = WAL')
          conn.pragma('foreign_keys = ON')
          conn.pragma('busy_timeout = 5000')
          conn.pragma('synchronous = NORMAL')
          done(null, conn)
        } catch (err) {
          done(err as Error, conn)
        }
      }
    }
  })
}

function createMysql (url: string, poolMax: number): Knex {
  const target = parseMysqlUrl(url)
  return knexFactory({
    client: 'mysql2',
    connection: {
      ...target,
      charset: 'utf8mb4',
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
      connectTimeout: 10000
    },
    pool: {
      min: 0,
      max: poolMax,
      afterCreate (conn: { query: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
        // Strict mode: truncation and bad values are errors, not warnings (as knex's own test setup).
        conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'", err => done(err, conn))
      }
    },
    acquireConnectionTimeout: 10000
  })
}

export function knexDialect (knex: Knex): Dialect {
  const client = String(knex.client.config.client)
  return client === 'mysql2' || client === 'mysql' ? 'mysql' : 'sqlite'
}

/** True for a unique-key violation on either database (the insert-or-fail idiom). */
export function isUniqueViolation (err: unknown): boolean {
  const e = err as { code?: string, errno?: number } | null
  if (!e) return false
  return e.code === 'ER_DUP_ENTRY' || e.errno === 1062 || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}

/** The database cannot be reached or is going away: a request answers 503 with this code, not a 500. */
export const databaseError = registerErrors({
  DATABASE_UNAVAILABLE: [503, 'The service cannot reach its database right now. Please try again in a moment.']
})

/** Network and server-state failures (mysql2 codes, MariaDB errnos, knex pool timeout, SQLite I/O). */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT', 'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_NORMAL_SHUTDOWN', 'ER_CONNECTION_KILLED',
  'SQLITE_BUSY', 'SQLITE_CANTOPEN', 'SQLITE_IOERR', 'SQLITE_FULL'
])
/** 1040 too many connections, 1053 shutdown in progress, 1077 normal shutdown, 1927 connection killed (MariaDB), 2006/2013 gone away/lost. */
const UNAVAILABLE_ERRNOS: ReadonlySet<number> = new Set([1040, 1053, 1077, 1927, 2006, 2013])

/**
 * True when `err` (or its cause) says the database is unreachable or going away, as opposed to a
 * query it refused: the request may work in a moment, so it is a 503, and readiness says so too.
 */
export function isDatabaseUnavailable (err: unknown): boolean {
  for (let e = err as { code?: unknown, errno?: unknown, name?: unknown, cause?: unknown } | null | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    if (e.name === 'KnexTimeoutError') return true
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('SQLITE_IOERR'))) return true
    if (typeof e.errno === 'number' && UNAVAILABLE_ERRNOS.has(e.errno)) return true
  }
  return false
}

/** True when MySQL/MariaDB chose this transaction as a deadlock victim: it was rolled back and may be run again. */
export function isDeadlock (err: unknown): boolean {
  const e = err as { code?: string, errno?: number } | null
  return e?.code === 'ER_LOCK_DEADLOCK' || e?.errno === 1213
}
