import t from 'tap'
import type { Knex } from 'knex'
import { createTestDb } from '../../helpers/db.js'
import { createOutboxAdminQueries } from '../../../src/db/outbox/admin-queries.js'

async function insertJobs (knex: Knex, jobs: Array<Record<string, unknown>>): Promise<number[]> {
  const ids: number[] = []
  for (const job of jobs) {
    const [id] = await knex('passbacks').insert({
      kind: 'lti11', version: 1, method: 'leaf', score_given: 1, score_maximum: 1, event_time_us: 1, platform_host: 'h.example',
      status: 'dead', attempts: 5, last_error: 'boom', due_at: 1, created_at: 1, updated_at: 1, ...job
    })
    ids.push(Number(id))
  }
  return ids
}

t.test('requeue changes only failed and dead rows, in bounded batches', async t => {
  const db = await createTestDb(t)
  const repo = createOutboxAdminQueries(db.knex)
  const statuses = ['pending', 'delivering', 'delivered', 'failed', 'dead', 'superseded']
  const ids = await insertJobs(db.knex, statuses.map((status, i) => ({ target_key: `a:${i}`, status, lease_owner: 'w', lease_until: 99 })))
  t.equal(await repo.requeue(ids, 1234), 2)
  const rows = await db.knex('passbacks').select('*').orderBy('id')
  t.same(rows.map(r => r.status), ['pending', 'delivering', 'delivered', 'pending', 'pending', 'superseded'])
  const requeued = rows.filter(r => Number(r.due_at) === 1234)
  t.same(requeued.map(r => Number(r.id)), [ids[3], ids[4]])
  t.ok(requeued.every(r => r.lease_owner === null && r.lease_until === null && Number(r.attempts) === 5 && r.last_error === 'boom'))
  t.equal(await repo.requeue([], 1), 0)

  // More ids than one IN list takes.
  const many: Array<Record<string, unknown>> = []
  for (let i = 0; i < 1100; i++) many.push({ target_key: `m:${i}` })
  await db.knex.batchInsert('passbacks', many.map(m => ({
    kind: 'lti11', version: 1, method: 'leaf', event_time_us: 1, platform_host: 'h', status: 'dead', attempts: 1, due_at: 1, created_at: 1, updated_at: 1, ...m
  })), 100)
  const dead = await repo.listRetryableIds('dead', {})
  t.equal(dead.length, 1100)
  t.equal(await repo.requeue(dead, 5), 1100)
})

t.test('stale jobs: a newer version for the same target exists', async t => {
  const db = await createTestDb(t)
  const repo = createOutboxAdminQueries(db.knex)
  const [old, mid, newest, alone] = await insertJobs(db.knex, [
    { target_key: 'a:1', version: 1 },
    { target_key: 'a:1', version: 2, status: 'failed' },
    { target_key: 'a:1', version: 3, status: 'delivered' },
    { target_key: 'a:2', version: 7 }
  ]) as [number, number, number, number]
  t.equal(await repo.hasNewerVersion(old), true)
  t.equal(await repo.hasNewerVersion(mid), true)
  t.equal(await repo.hasNewerVersion(newest), false)
  t.equal(await repo.hasNewerVersion(alone), false)
  t.same(await repo.listRetryableIds('dead', {}), [alone])
  t.equal(await repo.countStale('dead', {}), 1)
  t.same(await repo.listRetryableIds('failed', {}), [])
  t.equal(await repo.countStale('failed', {}), 1)
  t.match(await repo.findById(old), { id: old, status: 'dead', consumerId: null, registrationId: null, courseKey: null })
  t.equal(await repo.findById(9999), undefined)
})
