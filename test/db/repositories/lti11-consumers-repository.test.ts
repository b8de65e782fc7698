import t from 'tap'
import { createTestDb } from '../../helpers/db.js'
import { isUniqueViolation } from '../../../src/db/connection.js'
import { createLti11ConsumersRepository, type NewLti11Consumer } from '../../../src/db/repositories/lti11-consumers-repository.js'

const consumer = (over: Partial<NewLti11Consumer> = {}): NewLti11Consumer => ({
  name: 'Moodle', consumerKey: 'moodle', secretEnc: 'v1.sealed', instanceGuid: null, contentScope: ['course-v1:MITx+*'],
  usePii: true, requireUserAccount: false, outcomeHosts: ['moodle.example.edu'], pinOutcomeHost: false,
  signatureMethods: ['HMAC-SHA1', 'HMAC-SHA256'], timestampWindow: 120, active: true, createdAt: 1_700_000_000_000, updatedAt: 1_700_000_000_000, ...over
})

t.test('round trip: booleans, JSON lists and epoch milliseconds come back typed', async t => {
  const db = await createTestDb(t)
  const repo = createLti11ConsumersRepository(db.knex)
  const id = await repo.insert(consumer())
  t.type(id, 'number')
  const found = await repo.findById(id)
  t.same(found, { id, ...consumer() })
  t.same(await repo.findByKey('moodle'), found)
  t.equal(await repo.findByKey('MOODLE-other'), undefined)
  const raw = await db.knex('lti11_consumers').where({ id }).first()
  t.equal(raw.content_scope, '["course-v1:MITx+*"]', 'lists are stored as JSON text')
  t.equal(Number(raw.use_pii), 1)
  t.equal(Number(raw.pin_outcome_host), 0)

  t.equal(await repo.update(id, { usePii: false, instanceGuid: 'guid', contentScope: [], updatedAt: 1_700_000_000_500 }), 1)
  t.match(await repo.findById(id), { usePii: false, instanceGuid: 'guid', contentScope: [], updatedAt: 1_700_000_000_500, createdAt: 1_700_000_000_000 })
  t.equal(await repo.update(id, {}), 1, 'an empty change reports whether the row exists')
  t.equal(await repo.update(999, {}), 0)
  t.equal(await repo.update(999, { name: 'x' }), 0)

  const second = await repo.insert(consumer({ consumerKey: 'canvas', name: 'Canvas' }))
  t.same((await repo.list()).map(c => c.id), [id, second])
  t.equal(await repo.remove(id), 1)
  t.equal(await repo.remove(id), 0)
  t.same((await repo.list()).map(c => c.consumerKey), ['canvas'])
})

t.test('the database refuses a duplicate key, and a rolled back transaction leaves nothing', async t => {
  const db = await createTestDb(t)
  const repo = createLti11ConsumersRepository(db.knex)
  await repo.insert(consumer())
  const err = await repo.insert(consumer({ name: 'again' })).then(() => null, (e: unknown) => e)
  t.ok(isUniqueViolation(err), 'unique violation on consumer_key')

  await t.rejects(db.knex.transaction(async trx => {
    await repo.insert(consumer({ consumerKey: 'in-trx' }), trx)
    t.ok(await repo.findByKey('in-trx', trx), 'visible inside the transaction')
    throw new Error('abort')
  }), { message: 'abort' })
  t.equal(await repo.findByKey('in-trx'), undefined)
})

t.test('a corrupt list column fails loudly instead of reading as empty', async t => {
  const db = await createTestDb(t)
  const repo = createLti11ConsumersRepository(db.knex)
  const id = await repo.insert(consumer())
  await db.knex('lti11_consumers').where({ id }).update({ outcome_hosts: '{"a":1}' })
  await t.rejects(repo.findById(id), /outcome_hosts is not a JSON array of strings/)
})
