import t from 'tap'
import type { Knex } from 'knex'
import { createOutboxClaims } from '../../../src/db/outbox/claims.js'
import { createTestDb } from '../../helpers/db.js'

const NOW = 1_800_000_000_000

async function job (knex: Knex, over: Record<string, unknown>): Promise<number> {
  const [id] = await knex('passbacks').insert({
    kind: 'lti11', target_key: `a:${Math.random()}`, version: 1, method: 'leaf', event_time_us: 1, platform_host: 'h1',
    status: 'pending', due_at: NOW, created_at: NOW, updated_at: NOW, ...over
  }, ['id'])
  return Number(typeof id === 'object' ? (id as { id: number }).id : id)
}

t.test('claim: waiting, failed and lease-expired jobs merged in due order, busy targets and excluded hosts skipped, LIMIT kept', async t => {
  const { knex } = await createTestDb(t)
  const outbox = createOutboxClaims(knex)
  const expired = await job(knex, { status: 'delivering', due_at: NOW - 500, lease_until: NOW - 1, lease_owner: 'dead-worker' })
  const failed = await job(knex, { status: 'failed', due_at: NOW - 300 })
  const pending = await job(knex, { due_at: NOW - 400 })
  const pendingLater = await job(knex, { due_at: NOW - 100 })
  const sameDue = await job(knex, { due_at: NOW - 100 })
  await job(knex, { due_at: NOW + 1 }) // not due
  await job(knex, { status: 'delivering', due_at: NOW - 900, lease_until: NOW + 1000, target_key: 'a:busy' })
  await job(knex, { due_at: NOW - 999, target_key: 'a:busy', version: 2 }) // its target is being delivered
  await job(knex, { due_at: NOW - 998, platform_host: 'h2' })
  for (const status of ['delivered', 'dead', 'superseded']) await job(knex, { status, due_at: NOW - 1000 })

  let seen: number[] = []
  await outbox.claimDue({ now: NOW, owner: 'o', leaseMs: 1000, scanLimit: 100, excludeHosts: ['h2'], choose: c => { seen = c.map(x => x.id); return [] } })
  t.same(seen, [expired, pending, failed, pendingLater, sameDue], 'due order (due_at, id) across the three states')

  await outbox.claimDue({ now: NOW, owner: 'o', leaseMs: 1000, scanLimit: 3, excludeHosts: ['h2'], choose: c => { seen = c.map(x => x.id); return [] } })
  t.same(seen, [expired, pending, failed], 'the first scanLimit of the merge')

  const claimed = await outbox.claimDue({ now: NOW, owner: 'o', leaseMs: 1000, scanLimit: 10, excludeHosts: ['h2'], choose: c => c.slice(0, 2).map(x => x.id) })
  t.same(claimed.map(j => [j.id, j.attempts, j.leaseUntil]), [[expired, 1, NOW + 1000], [pending, 1, NOW + 1000]])
  t.match(await knex('passbacks').where({ id: expired }).first(), { status: 'delivering', lease_owner: 'o' }, 'the dead worker\'s job taken over')
})

t.test('on SQLite the claim reads walk an index in due order: no sort of every due row', async t => {
  const { knex, backend } = await createTestDb(t)
  if (backend !== 'sqlite') {
    t.pass('EXPLAIN QUERY PLAN is SQLite\'s; MariaDB runs the same statements')
    return
  }
  const reads: Array<{ sql: string, bindings: readonly unknown[] }> = []
  const listen = (q: { sql: string, bindings: readonly unknown[] }) => { if (q.sql.includes('from `passbacks` as `p`')) reads.push(q) }
  knex.on('query', listen)
  await createOutboxClaims(knex).claimDue({ now: NOW, owner: 'o', leaseMs: 1000, scanLimit: 10, choose: () => [] })
  knex.off('query', listen)
  t.equal(reads.length, 3, 'one read per claimable state')
  const plan = async (i: number) => (await knex.raw(`EXPLAIN QUERY PLAN ${reads[i]!.sql}`, reads[i]!.bindings as never) as Array<{ detail: string }>).map(r => r.detail).join(' | ')
  for (const i of [0, 1]) {
    const waiting = await plan(i)
    t.match(waiting, /^SEARCH p USING (COVERING )?INDEX ix_passbacks__status_due_at \(status=\? AND due_at<\?\)/, waiting)
    t.notMatch(waiting, /TEMP B-TREE/, 'waiting jobs: read in due order, stops at the LIMIT')
  }
  // Expired leases are few (a dead worker's jobs): a range of their own index, sorted.
  t.match(await plan(2), /^SEARCH p USING INDEX ix_passbacks__status_lease_until \(status=\? AND lease_until<\?\)/)
})
