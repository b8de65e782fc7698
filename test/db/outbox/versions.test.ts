import t from 'tap'
import { createOutboxClaims } from '../../../src/db/outbox/claims.js'
import { currentVersion, hasNewerJob, isSupersededVersion } from '../../../src/db/outbox/versions.js'
import { createTestDb } from '../../helpers/db.js'
import { createSeeder } from '../../support/grade-targets-seed.js'

const COURSE = 'course-v1:edX+DemoX+Demo_Course'
const UNIT = 'block-v1:edX+DemoX+Demo_Course+type@vertical+block@u1'

t.test('a job is superseded when its target has a newer version or is gone', async t => {
  t.equal(isSupersededVersion(3, 3), false)
  t.equal(isSupersededVersion(4, 3), true)
  t.equal(isSupersededVersion(2, 3), false, 'an older counter (restored backup) does not drop the job')
  t.equal(isSupersededVersion(undefined, 3), true)

  const db = await createTestDb(t)
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: 5, lmsUsername: 'u5' })
  const a = await seed.assignment(user, { lmsUserId: 5, courseKey: COURSE, usageKey: UNIT })
  const profile = await seed.lti13User({ lmsUserId: 5, lmsUsername: 'u5' })
  const r = await seed.resource(profile.profileId, { lmsUserId: 5, courseKey: COURSE, usageKey: UNIT })
  await db.knex('graded_assignments').where({ id: a }).update({ version_number: 2 })
  await db.knex('graded_resources').where({ id: r }).update({ version_number: 7 })

  // The worker's guard (job-delivery.ts) reads the counter through the claims it holds.
  const claims = createOutboxClaims(db.knex)
  const isSuperseded = async (job: { targetKey: string, version: number }) => isSupersededVersion(await claims.currentVersion(job.targetKey), job.version)
  t.equal(await isSuperseded({ targetKey: `a:${a}`, version: 2 }), false)
  t.equal(await isSuperseded({ targetKey: `a:${a}`, version: 1 }), true)
  t.equal(await isSuperseded({ targetKey: `r:${r}`, version: 7 }), false)
  t.equal(await isSuperseded({ targetKey: `r:${r}`, version: 6 }), true)
  t.equal(await isSuperseded({ targetKey: `a:${a + 100}`, version: 1 }), true, 'deleted target')
  t.equal(await isSuperseded({ targetKey: 'x:1', version: 1 }), true, 'not a target key')
  await db.knex.transaction(async trx => {
    await trx('graded_assignments').where({ id: a }).update({ version_number: 3 })
    t.equal(isSupersededVersion(await currentVersion(trx, `a:${a}`), 2), true, 'reads inside the caller\'s transaction')
  })
})

t.test('a job is superseded when a newer job of its target exists, whatever the newer one\'s state', async t => {
  const db = await createTestDb(t)
  const insert = async (targetKey: string, version: number, status: string) => {
    await db.knex('passbacks').insert({
      kind: 'lti11', target_key: targetKey, version, method: 'leaf', event_time_us: 1, platform_host: 'h',
      status, due_at: 1, created_at: 1, updated_at: 1
    })
  }
  await insert('a:1', 1, 'delivering')
  await insert('a:1', 2, 'delivered')
  await insert('a:2', 5, 'pending')
  t.equal(await hasNewerJob(db.knex, { targetKey: 'a:1', version: 1 }), true)
  t.equal(await hasNewerJob(db.knex, { targetKey: 'a:1', version: 2 }), false, 'the newest is not superseded')
  t.equal(await hasNewerJob(db.knex, { targetKey: 'a:2', version: 4 }), true, 'by value: a version no row has yet')
  t.equal(await hasNewerJob(db.knex, { targetKey: 'a:3', version: 1 }), false, 'another target\'s jobs do not count')
  t.equal(await createOutboxClaims(db.knex).hasNewerJob('a:1', 1), true, 'the worker asks the same query')
  await db.knex.transaction(async trx => {
    await trx('passbacks').insert({
      kind: 'lti11', target_key: 'a:2', version: 6, method: 'leaf', event_time_us: 1, platform_host: 'h',
      status: 'pending', due_at: 1, created_at: 1, updated_at: 1
    })
    t.equal(await hasNewerJob(trx, { targetKey: 'a:2', version: 5 }), true, 'reads inside the caller\'s transaction')
  })
})
