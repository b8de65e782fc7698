/**
 * Hand-written SQL for the launch's hot queries, without knex's per-query work.
 *
 * Through knex every query builds a query object, compiles it to SQL and, on SQLite, has
 * better-sqlite3 prepare a new `Statement`: about 13% of an LTI 1.1 launch (bench/README.md). Here
 * the SQL is a constant, each SQLite connection keeps its prepared `Statement` per SQL text, and
 * MySQL/MariaDB get the SQL as is (mysql2 `query`, text protocol: `execute` would send every JS
 * number as a DOUBLE parameter, compared against our BIGINT columns).
 *
 * Connections still come from knex: a query outside a transaction waits for the pool like any
 * knex query (on SQLite, for the one connection, so it never runs inside someone else's open
 * transaction), and a query given `trx` runs on that transaction's connection; the caller owns the
 * transaction. Errors are the drivers' own (`isUniqueViolation` sees the same codes).
 *
 * Keep the SQL portable (plain identifiers, `?` placeholders) or pass one text per dialect.
 */
import type { Knex } from 'knex'
import { knexDialect, type Dialect } from './connection.js'

export type SqlValue = string | number | null

/** One statement's text, the same on both databases or one per dialect. */
export type Sql = string | { sqlite: string, mysql: string }

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number
  /** Id of the row an INSERT created (0 when none). */
  insertId: number
}

export interface PreparedSql {
  dialect: Dialect
  /** Rows of a SELECT (or of a `… RETURNING`). */
  all: <T>(sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction) => Promise<T[]>
  first: <T>(sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction) => Promise<T | undefined>
  /** A statement that returns no rows. */
  run: (sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction) => Promise<RunResult>
  /**
   * An autocommit write (never inside a caller's transaction) that may share its commit with the
   * other grouped writes of the same turn of the event loop. Each call still gets its own result
   * or its own error (a unique violation fails that statement only), and resolves only once its
   * write is committed. SQLite: one `BEGIN IMMEDIATE … COMMIT` per turn, because a commit (WAL
   * append) costs several times the insert itself; MySQL/MariaDB: a plain statement (InnoDB
   * already groups the commits of concurrent connections).
   */
  runGrouped: (sql: Sql, params: readonly SqlValue[]) => Promise<RunResult>
  /** `runGrouped` for a write that returns rows (`DELETE … RETURNING`). */
  allGrouped: <T>(sql: Sql, params: readonly SqlValue[]) => Promise<T[]>
  /**
   * Whether `DELETE … RETURNING` works: SQLite ≥ 3.35 and MariaDB ≥ 10.5 have it, MySQL 8 has not.
   * Asked of the server once.
   */
  hasDeleteReturning: () => Promise<boolean>
}

/** `DELETE … RETURNING` from the server's version string (`SELECT sqlite_version()` / `VERSION()`). */
export function deleteReturningSupported (dialect: Dialect, version: string): boolean {
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number)
  if (dialect === 'sqlite') return major > 3 || (major === 3 && minor >= 35)
  return /mariadb/i.test(version) && (major > 10 || (major === 10 && minor >= 5))
}

/** The SQLite side of better-sqlite3 this module uses. */
interface SqliteStatement {
  all: (params: readonly SqlValue[]) => unknown[]
  run: (params: readonly SqlValue[]) => { changes: number, lastInsertRowid: number | bigint }
}
interface SqliteConnection { prepare: (sql: string) => SqliteStatement, readonly inTransaction: boolean }

/** The mysql2 callback connection knex pools. */
interface MysqlConnection {
  query: (sql: string, params: readonly SqlValue[], cb: (err: Error | null, result: unknown) => void) => void
}

// The SQL texts are module constants, so a connection holds a dozen statements; the bound only
// guards against a caller building SQL per call.
const MAX_STATEMENTS_PER_CONNECTION = 200

const instances = new WeakMap<Knex, PreparedSql>()

/** One instance per knex (repositories are created per request in places). */
export function preparedSql (knex: Knex): PreparedSql {
  let instance = instances.get(knex)
  if (instance === undefined) {
    instance = knexDialect(knex) === 'sqlite' ? sqlite() : mysql()
    instances.set(knex, instance)
  }
  return instance

  /** The connection of `trx`, else one from the pool, released when `fn` is done. */
  async function onConnection<C, R> (trx: Knex.Transaction | undefined, fn: (conn: C) => R | Promise<R>): Promise<R> {
    if (trx?.isCompleted() === true) throw new Error('Transaction query already complete')
    const client = (trx ?? knex).client as { acquireConnection: () => Promise<C>, releaseConnection: (conn: C) => Promise<void> }
    const conn = await client.acquireConnection()
    try {
      return await fn(conn)
    } finally {
      await client.releaseConnection(conn)
    }
  }

  function capability (dialect: Dialect, versionSql: string, all: PreparedSql['all']): () => Promise<boolean> {
    let answer: Promise<boolean> | undefined
    return async () => {
      answer ??= all<{ v: string }>(versionSql, []).then(rows => deleteReturningSupported(dialect, String(rows[0]?.v ?? '')))
      // A failed probe (database down) is asked again next time.
      answer.catch(() => { answer = undefined })
      return await answer
    }
  }

  function sqlite (): PreparedSql {
    const statements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>()
    const statement = (conn: SqliteConnection, sql: Sql): SqliteStatement => {
      const text = typeof sql === 'string' ? sql : sql.sqlite
      let cache = statements.get(conn)
      if (cache === undefined) statements.set(conn, cache = new Map())
      let prepared = cache.get(text)
      if (prepared === undefined) {
        if (cache.size >= MAX_STATEMENTS_PER_CONNECTION) cache.clear()
        prepared = conn.prepare(text)
        cache.set(text, prepared)
      }
      return prepared
    }
    const runOn = (conn: SqliteConnection, sql: Sql, params: readonly SqlValue[]): RunResult => {
      const result = statement(conn, sql).run(params)
      return { changes: result.changes, insertId: Number(result.lastInsertRowid) }
    }
    const all = async <T>(sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction): Promise<T[]> =>
      await onConnection<SqliteConnection, T[]>(trx, conn => statement(conn, sql).all(params) as T[])

    interface Grouped { sql: Sql, params: readonly SqlValue[], rows: boolean, resolve: (result: RunResult | unknown[]) => void, reject: (err: unknown) => void }
    let group: Grouped[] = []
    const execute = (conn: SqliteConnection, write: Grouped): RunResult | unknown[] =>
      write.rows ? statement(conn, write.sql).all(write.params) : runOn(conn, write.sql, write.params)
    /** Runs the turn's writes in one transaction, synchronously: nothing else can use the connection meanwhile. */
    const commitGroup = async (): Promise<void> => {
      const writes = group
      group = []
      const outcomes: Array<{ ok: RunResult | unknown[] } | { err: unknown }> = []
      try {
        await onConnection<SqliteConnection, void>(undefined, conn => {
          if (writes.length === 1) {
            outcomes.push({ ok: execute(conn, writes[0]!) })
            return
          }
          runOn(conn, 'BEGIN IMMEDIATE', [])
          try {
            for (const write of writes) {
              try {
                outcomes.push({ ok: execute(conn, write) })
              } catch (err) {
                // A constraint error undoes its own statement only; an error that ended the
                // transaction (disk full, I/O) loses the earlier writes too: then every write fails.
                if (!conn.inTransaction) throw err
                outcomes.push({ err })
              }
            }
            runOn(conn, 'COMMIT', [])
          } catch (err) {
            if (conn.inTransaction) runOn(conn, 'ROLLBACK', [])
            throw err
          }
        })
      } catch (err) {
        for (const write of writes) write.reject(err)
        return
      }
      writes.forEach((write, i) => {
        const outcome = outcomes[i]!
        if ('ok' in outcome) write.resolve(outcome.ok); else write.reject(outcome.err)
      })
    }
    const grouped = async (sql: Sql, params: readonly SqlValue[], rows: boolean): Promise<RunResult | unknown[]> => await new Promise((resolve, reject) => {
      group.push({ sql, params, rows, resolve, reject })
      // setImmediate, not a microtask: every request that reaches its write in this turn joins.
      if (group.length === 1) setImmediate(() => { void commitGroup() })
    })

    return {
      dialect: 'sqlite',
      hasDeleteReturning: capability('sqlite', 'SELECT sqlite_version() AS v', all),
      all,
      first: async (sql, params, trx) => (await all<never>(sql, params, trx))[0],
      run: async (sql, params, trx) => await onConnection<SqliteConnection, RunResult>(trx, conn => runOn(conn, sql, params)),
      runGrouped: async (sql, params) => await grouped(sql, params, false) as RunResult,
      allGrouped: async <T>(sql: Sql, params: readonly SqlValue[]) => await grouped(sql, params, true) as T[]
    }
  }

  function mysql (): PreparedSql {
    const query = async (sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction): Promise<unknown> =>
      await onConnection<MysqlConnection, unknown>(trx, async conn => await new Promise((resolve, reject) => {
        conn.query(typeof sql === 'string' ? sql : sql.mysql, params, (err, result) => { if (err) reject(err); else resolve(result) })
      }))
    const all = async <T>(sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction): Promise<T[]> => await query(sql, params, trx) as T[]
    const run = async (sql: Sql, params: readonly SqlValue[], trx?: Knex.Transaction): Promise<RunResult> => {
      const header = await query(sql, params, trx) as { affectedRows: number, insertId: number }
      return { changes: header.affectedRows, insertId: Number(header.insertId) }
    }
    return {
      dialect: 'mysql',
      hasDeleteReturning: capability('mysql', 'SELECT VERSION() AS v', all),
      all,
      first: async (sql, params, trx) => (await all<never>(sql, params, trx))[0],
      run,
      runGrouped: async (sql, params) => await run(sql, params),
      allGrouped: all
    }
  }
}
