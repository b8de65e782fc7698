/**
 * The database StateStore of LTI 1.3 logins (`oidc_states`): round trip, single use under
 * concurrency (the property the nonce's single use rests on), expiry purge. Runs on SQLite and,
 * with TEST_DATABASE=mariadb, on MariaDB where several pooled connections really race.
 */
import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { createTestDb } from '../../helpers/db.js'
import { createOidcStatesRepository } from '../../../src/db/repositories/oidc-states-repository.js'
import { preparedSql } from '../../../src/db/prepared-statements.js'
import { createLti13RegistrationsRepository } from '../../../src/db/repositories/lti13-registrations-repository.js'
import type { StateRecord } from '../../../src/lti/v13/state-store.js'

async function setup (t: Test) {
  const db = await createTestDb(t)
  const now = Date.now()
  const registrationId = await createLti13RegistrationsRepository(db.knex).insert({
    name: 'p', issuer: 'https://platform.example.edu', clientId: 'c', authLoginUrl: 'https://platform.example.edu/auth',
    authTokenUrl: 'https://platform.example.edu/token', authTokenAudience: null, jwksUrl: 'https://platform.example.edu/jwks',
    deploymentPolicy: 'strict', contentScope: [], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now
  })
  return { db, registrationId, states: createOidcStatesRepository(db.knex) }
}

const record = (registrationId: number, over: Partial<StateRecord> = {}): StateRecord => ({
  stateId: randomBytes(32).toString('base64url'),
  nonce: randomBytes(32).toString('base64url'),
  registrationId,
  bindingHash: randomBytes(32).toString('base64url'),
  targetLinkUri: 'https://tool.example.org/lti/1.3/courses/course-v1:A+B+C/block-v1:A+B+C+type@problem+block@p',
  expiresAt: new Date(Date.now() + 600_000),
  ...over
})

t.test('save then consume returns the record once', async t => {
  const { states, registrationId } = await setup(t)
  const saved = record(registrationId)
  await states.save(saved)
  t.same(await states.consume(saved.stateId), saved)
  t.equal(await states.consume(saved.stateId), null, 'second consume finds nothing')
  t.equal(await states.consume('never-saved-state-id-000000'), null)
})

t.test('a state id is unique', async t => {
  const { states, registrationId } = await setup(t)
  const saved = record(registrationId)
  await states.save(saved)
  await t.rejects(states.save({ ...saved, nonce: 'other' }))
})

t.test('concurrent consumes of one state: exactly one gets it', async t => {
  const { states, registrationId } = await setup(t)
  for (let round = 0; round < 10; round++) {
    const saved = record(registrationId)
    await states.save(saved)
    const results = await Promise.all(Array.from({ length: 8 }, async () => await states.consume(saved.stateId)))
    t.equal(results.filter(r => r !== null).length, 1, `round ${round}: one winner`)
  }
})

t.test('without DELETE … RETURNING (MySQL 8): the transaction path is single use too', async t => {
  const { states, registrationId, db } = await setup(t)
  // The shared per-knex instance the repository asks: as a MySQL 8 server would answer.
  const sql = preparedSql(db.knex)
  const probe = sql.hasDeleteReturning
  t.equal(await probe(), true, 'the database under test has RETURNING: the default path is the one-statement path')
  sql.hasDeleteReturning = async () => false
  t.teardown(() => { sql.hasDeleteReturning = probe })
  const saved = record(registrationId)
  await states.save(saved)
  // The fallback goes through knex (its 'query' events); the one-statement path does not.
  const seen: string[] = []
  const onQuery = (q: { sql: string }) => { seen.push(q.sql.split(' ')[0]!.toLowerCase()) }
  db.knex.on('query', onQuery)
  t.same(await states.consume(saved.stateId), saved)
  db.knex.off('query', onQuery)
  t.same(seen.filter(s => s === 'select' || s === 'delete'), ['select', 'delete'], 'read (with lock) then delete, in a transaction')
  t.equal(await states.consume(saved.stateId), null)
  for (let round = 0; round < 5; round++) {
    const raced = record(registrationId)
    await states.save(raced)
    const results = await Promise.all(Array.from({ length: 8 }, async () => await states.consume(raced.stateId)))
    t.equal(results.filter(r => r !== null).length, 1, `round ${round}: one winner`)
  }
  t.equal(Number((await db.knex('oidc_states').count({ n: '*' }).first())?.n), 0)
})

t.test('purgeExpired removes only expired states', async t => {
  const { states, registrationId, db } = await setup(t)
  const live = record(registrationId)
  await states.save(live)
  await states.save(record(registrationId, { expiresAt: new Date(Date.now() - 1000) }))
  await states.save(record(registrationId, { expiresAt: new Date(Date.now() - 2000) }))
  t.equal(await states.purgeExpired(Date.now()), 2)
  t.same((await db.knex('oidc_states').select('state_id')).map(r => r.state_id), [live.stateId])
})
