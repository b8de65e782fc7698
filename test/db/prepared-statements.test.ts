/**
 * The launch's hand-written SQL path (src/db/prepared-statements.ts), on SQLite and, with
 * TEST_DATABASE=mariadb, on MariaDB: results and driver errors as through knex, statements prepared
 * once per SQLite connection, a caller's transaction honoured (its connection, its rollback), a
 * query outside it never slipping into it, and grouped writes that share one commit yet answer
 * one by one.
 */
import t, { type Test } from 'tap'
import type { Knex } from 'knex'
import { createTestDb, testBackend } from '../helpers/db.js'
import { isUniqueViolation } from '../../src/db/connection.js'
import { deleteReturningSupported, preparedSql } from '../../src/db/prepared-statements.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'

const INSERT = 'INSERT INTO oauth_nonces (consumer_id, nonce, expires_at) VALUES (?, ?, ?)'
const SELECT = 'SELECT nonce, expires_at FROM oauth_nonces WHERE consumer_id = ? ORDER BY nonce'

async function setup (t: Test) {
  const db = await createTestDb(t)
  const now = Date.now()
  const consumerId = await createLti11ConsumersRepository(db.knex).insert({
    name: 'c', consumerKey: 'k', secretEnc: 'sealed', instanceGuid: null, contentScope: ['*'], usePii: false, requireUserAccount: false,
    outcomeHosts: [], pinOutcomeHost: false, signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  return { knex: db.knex, sql: preparedSql(db.knex), consumerId }
}

const nonces = async (knex: Knex, consumerId: number): Promise<string[]> =>
  (await knex('oauth_nonces').where({ consumer_id: consumerId }).orderBy('nonce').select('nonce')).map(r => r.nonce as string)

t.test('run, all and first give what knex would; a duplicate is the driver\'s unique violation', async t => {
  const { knex, sql, consumerId } = await setup(t)
  t.equal(sql, preparedSql(knex), 'one instance per knex')
  t.equal(sql.dialect, testBackend === 'sqlite' ? 'sqlite' : 'mysql')
  const first = await sql.run(INSERT, [consumerId, 'n1', 1_800_000_000_000])
  t.equal(first.changes, 1)
  t.equal(first.insertId, Number((await knex('oauth_nonces').where({ nonce: 'n1' }).first()).id), 'insertId is the new row')
  await sql.run(INSERT, [consumerId, 'n2', 5])
  t.same(await sql.all(SELECT, [consumerId]), [{ nonce: 'n1', expires_at: 1_800_000_000_000 }, { nonce: 'n2', expires_at: 5 }], 'BIGINT as a number')
  t.same(await sql.first(SELECT, [consumerId]), { nonce: 'n1', expires_at: 1_800_000_000_000 })
  t.equal(await sql.first(SELECT, [consumerId + 1]), undefined)
  const duplicate = await sql.run(INSERT, [consumerId, 'n1', 7]).catch((err: unknown) => err)
  t.ok(isUniqueViolation(duplicate), `unique violation (${(duplicate as { code?: string }).code})`)
  t.same(await nonces(knex, consumerId), ['n1', 'n2'])
})

// SQLite only from here to the end of the block: MariaDB gets the SQL text and groups nothing.
if (testBackend === 'sqlite') {
t.test('SQLite: a statement is prepared once per connection, not once per query', async t => {
  const { knex, sql, consumerId } = await setup(t)
  const conn = await knex.client.acquireConnection() as { prepare: (sql: string) => unknown }
  const prepare = conn.prepare
  let prepared = 0
  conn.prepare = function (text: string) { prepared++; return prepare.call(this, text) }
  knex.client.releaseConnection(conn)
  t.teardown(() => { conn.prepare = prepare })
  for (let i = 0; i < 5; i++) await sql.run(INSERT, [consumerId, `p${i}`, 1])
  for (let i = 0; i < 5; i++) await sql.all(SELECT, [consumerId])
  t.equal(prepared, 2, 'two SQL texts, ten queries, two prepares')
})

t.test('a query given trx runs in that transaction: its rollback takes the row away', async t => {
  const { knex, sql, consumerId } = await setup(t)
  await t.rejects(knex.transaction(async trx => {
    await sql.run(INSERT, [consumerId, 'in-trx', 1], trx)
    t.same((await sql.all<{ nonce: string }>(SELECT, [consumerId], trx)).map(r => r.nonce), ['in-trx'], 'visible inside')
    throw new Error('roll back')
  }), /roll back/)
  t.same(await nonces(knex, consumerId), [], 'rolled back with the caller\'s transaction')

  await knex.transaction(async trx => { await sql.run(INSERT, [consumerId, 'committed', 1], trx) })
  t.same(await nonces(knex, consumerId), ['committed'])

  let finished: Knex.Transaction | undefined
  await knex.transaction(async trx => { finished = trx })
  await t.rejects(sql.run(INSERT, [consumerId, 'late', 1], finished), /Transaction query already complete/, 'a finished transaction is refused')
})

t.test('a query without trx never runs inside someone else\'s open transaction', async t => {
  const { knex, sql, consumerId } = await setup(t)
  let outside: Promise<unknown> | undefined
  await t.rejects(knex.transaction(async trx => {
    await sql.run(INSERT, [consumerId, 'inside', 1], trx)
    // On SQLite (one connection) this waits for the transaction to end; on MariaDB it takes
    // another pooled connection. Either way it must not be rolled back with the transaction.
    outside = sql.run(INSERT, [consumerId, 'outside', 1])
    await new Promise(resolve => setTimeout(resolve, 50))
    throw new Error('roll back')
  }))
  await outside
  t.same(await nonces(knex, consumerId), ['outside'])
})

t.test('grouped writes of one turn share a commit yet answer one by one', async t => {
  const { knex, sql, consumerId } = await setup(t)
  await sql.run(INSERT, [consumerId, 'taken', 1])
  const results = await Promise.allSettled([
    sql.runGrouped(INSERT, [consumerId, 'g1', 1]),
    sql.runGrouped(INSERT, [consumerId, 'taken', 1]),
    sql.runGrouped(INSERT, [consumerId, 'g2', 1]),
    sql.runGrouped(INSERT, [consumerId, 'g2', 1]),
    sql.runGrouped(INSERT, [consumerId + 999, 'no-such-consumer', 1]),
    sql.allGrouped<{ nonce: string }>('DELETE FROM oauth_nonces WHERE nonce = ? RETURNING nonce', ['g1'])
  ])
  t.same(results.map(r => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected', 'fulfilled'])
  t.ok(isUniqueViolation((results[1] as PromiseRejectedResult).reason), 'the row already there: unique violation')
  t.ok(isUniqueViolation((results[3] as PromiseRejectedResult).reason), 'the same row twice in one group: the second one fails')
  t.match((results[4] as PromiseRejectedResult).reason, { code: testBackend === 'sqlite' ? 'SQLITE_CONSTRAINT_FOREIGNKEY' : 'ER_NO_REFERENCED_ROW_2' }, 'a foreign-key failure fails its own write only')
  t.same((results[5] as PromiseFulfilledResult<unknown>).value, [{ nonce: 'g1' }], 'DELETE … RETURNING sees the row inserted earlier in the group')
  t.same(await nonces(knex, consumerId), ['g2', 'taken'], 'the others are committed')

  t.equal((await Promise.all(Array.from({ length: 50 }, async (_, i) => await sql.runGrouped(INSERT, [consumerId, `many-${i}`, 1])))).length, 50)
  t.equal((await nonces(knex, consumerId)).filter(n => n.startsWith('many-')).length, 50, 'fifty concurrent grouped writes, all committed')
})

t.test('SQLite: one turn of grouped writes is one transaction', async t => {
  const { knex, sql, consumerId } = await setup(t)
  // Counted from the start, before the BEGIN statement is prepared (and cached) at all.
  const conn = await knex.client.acquireConnection() as { prepare: (sql: string) => { run: (...a: unknown[]) => unknown } }
  knex.client.releaseConnection(conn)
  const prepare = conn.prepare
  let begins = 0
  conn.prepare = function (text: string) {
    const statement = prepare.call(this, text)
    if (text !== 'BEGIN IMMEDIATE') return statement
    const run = statement.run.bind(statement)
    return Object.assign(Object.create(statement), { run: (...a: unknown[]) => { begins++; return run(...a) } })
  }
  t.teardown(() => { conn.prepare = prepare })
  await Promise.all(Array.from({ length: 100 }, async (_, i) => await sql.runGrouped(INSERT, [consumerId, `batch-${i}`, 1])))
  t.equal(begins, 1, 'one transaction for the whole turn')
  t.equal((await nonces(knex, consumerId)).length, 100)
  await sql.runGrouped(INSERT, [consumerId, 'alone', 1])
  t.equal(begins, 1, 'a write alone in its turn is a plain autocommit statement')
  await Promise.all([sql.runGrouped(INSERT, [consumerId, 'next-1', 1]), sql.runGrouped(INSERT, [consumerId, 'next-2', 1])])
  t.equal(begins, 2, 'the next turn is the next transaction')
})

t.test('SQLite: a failed group transaction fails every write of it, and nothing is half-written', async t => {
  const { knex, sql, consumerId } = await setup(t)
  // A transaction left open on the one connection makes the group's BEGIN IMMEDIATE fail.
  const conn = await knex.client.acquireConnection() as { prepare: (sql: string) => { run: () => unknown } }
  conn.prepare('BEGIN').run()
  knex.client.releaseConnection(conn)
  const results = await Promise.allSettled([sql.runGrouped(INSERT, [consumerId, 'x1', 1]), sql.runGrouped(INSERT, [consumerId, 'x2', 1])])
  t.same(results.map(r => r.status), ['rejected', 'rejected'])
  t.match((results[0] as PromiseRejectedResult).reason, { message: /within a transaction/ })
  conn.prepare('ROLLBACK').run()
  t.same(await nonces(knex, consumerId), [])
})
}

t.test('DELETE … RETURNING where the server has it', async t => {
  const { sql } = await setup(t)
  t.equal(await sql.hasDeleteReturning(), true, `the ${testBackend} under test has it, so the launch path tested is the one-statement path`)
  const table: Array<[Parameters<typeof deleteReturningSupported>[0], string, boolean]> = [
    ['sqlite', '3.35.0', true], ['sqlite', '3.53.2', true], ['sqlite', '3.34.1', false],
    ['mysql', '10.11.19-MariaDB-0+deb12u1', true], ['mysql', '10.5.0-MariaDB', true], ['mysql', '10.4.32-MariaDB', false],
    ['mysql', '11.4.2-MariaDB', true], ['mysql', '8.0.36', false], ['mysql', '8.4.0', false], ['mysql', '', false]
  ]
  for (const [dialect, version, expected] of table) t.equal(deleteReturningSupported(dialect, version), expected, `${dialect} ${version}`)
})
