import t from 'tap'
import { createRelevantUserSource } from '../../../src/events/consumer/relevant-user-source.js'
import { RelevantUsers, type IdentityTable, type RelevantUserSource } from '../../../src/events/consumer/relevant-users.js'
import { createTestDb } from '../../helpers/db.js'
import { createSeeder } from '../../support/grade-targets-seed.js'

t.test('loads lti_users and lti_profiles in pages, then picks up new rows', async t => {
  const db = await createTestDb(t)
  const seed = createSeeder(db.knex)
  for (let i = 1; i <= 7; i++) await seed.lti11User({ lmsUserId: 1000 + i, lmsUsername: `u${i}` })
  await seed.lti13User({ lmsUserId: 2001, lmsUsername: 'p1' })
  await seed.lti13User({ lmsUserId: 1001, lmsUsername: 'same-learner-through-1.3' })

  const pages: Array<[IdentityTable, number]> = []
  const source = createRelevantUserSource(db.knex)
  const counting: RelevantUserSource = { page: async (table, after, limit) => { pages.push([table, after]); return source.page(table, after, limit) } }
  const users = new RelevantUsers({ source: counting, pageSize: 3, lateCommitWindow: 0 })
  t.equal(users.loaded, false)
  t.equal(await users.load(), 8, 'eight distinct LMS users')
  t.ok(users.loaded)
  t.same(pages.filter(([table]) => table === 'lti_users').map(([, after]) => after), [0, 3, 6], 'pages of 3 by id')
  t.ok(users.has(1007) && users.has(2001) && users.has(1001))
  t.notOk(users.has(9999))

  await seed.lti13User({ lmsUserId: 3003, lmsUsername: 'late' })
  t.notOk(users.has(3003), 'not before a refresh')
  pages.length = 0
  t.equal(await users.refresh(), 1)
  t.ok(users.has(3003))
  t.same(pages, [['lti_users', 7], ['lti_profiles', 2]], 'a refresh reads only rows past the last seen id')

  users.add(4004)
  t.ok(users.has(4004), 'add() from the launch code is visible at once')
  t.equal(users.size, 10)
})

t.test('re-reads a window behind the last id (late commits) and does a periodic full pass', async t => {
  let now = 0
  const rows = new Map<IdentityTable, Array<{ id: number, lmsUserId: number }>>([['lti_users', [{ id: 1, lmsUserId: 11 }, { id: 5, lmsUserId: 55 }]], ['lti_profiles', []]])
  const source: RelevantUserSource = {
    page: async (table, after, limit) => (rows.get(table) ?? []).filter(r => r.id > after).sort((a, b) => a.id - b.id).slice(0, limit)
  }
  const users = new RelevantUsers({ source, lateCommitWindow: 2, fullReloadIntervalMs: 1000, now: () => now })
  await users.load()
  // id 4 commits after id 5 was seen (MySQL auto-increment under concurrency).
  rows.get('lti_users')!.push({ id: 4, lmsUserId: 44 })
  await users.refresh()
  t.ok(users.has(44), 'within the window: found by the next refresh')
  rows.get('lti_users')!.push({ id: 2, lmsUserId: 111 }) // far behind the window
  await users.refresh()
  t.notOk(users.has(111), 'outside the window: not yet')
  now = 1000
  await users.refresh()
  t.ok(users.has(111), 'the periodic full pass finds it')
})

t.test('periodic refresh runs on a timer and survives a failing source', async t => {
  let fail = true
  let calls = 0
  const warnings: string[] = []
  const source: RelevantUserSource = {
    page: async (table) => {
      calls++
      if (fail) throw new Error('database down')
      return table === 'lti_users' ? [{ id: 1, lmsUserId: 77 }] : []
    }
  }
  const users = new RelevantUsers({ source, refreshIntervalMs: 20, logger: { warn: (_o, msg) => { warnings.push(msg) } } })
  await t.rejects(users.load(), /database down/)
  users.start()
  users.start()
  await new Promise(resolve => setTimeout(resolve, 60))
  t.ok(warnings.length >= 1, 'failures are logged, not thrown')
  fail = false
  await new Promise(resolve => setTimeout(resolve, 60))
  t.ok(users.has(77))
  t.ok(users.loaded, 'the first successful pass is a full one')
  await users.stop()
  const after = calls
  await new Promise(resolve => setTimeout(resolve, 60))
  t.equal(calls, after, 'no refresh after stop')
})

t.test('a refresh joins a pass in progress; a full load waits for it and runs its own', async t => {
  let gate: Promise<void> | undefined
  const afters: number[] = []
  const source: RelevantUserSource = {
    page: async (table, after) => {
      afters.push(after)
      if (gate) await gate
      return table === 'lti_users' && after === 0 ? [{ id: 5, lmsUserId: 55 }] : []
    }
  }
  const users = new RelevantUsers({ source, lateCommitWindow: 0 })
  t.equal(await users.load(), 1)
  let release!: () => void
  gate = new Promise<void>(resolve => { release = resolve })
  afters.length = 0
  const refresh = users.refresh()
  const joined = users.refresh()
  const full = users.load()
  gate = undefined
  release()
  t.equal(await refresh, 0)
  t.equal(await joined, 0, 'the second refresh shared the first')
  t.equal(await full, 0, 'the full pass ran after it (nothing new)')
  t.same(afters, [5, 0, 0, 0], 'one incremental pass, then one full pass of both tables')
})
