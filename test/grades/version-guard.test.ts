import t from 'tap'
import { createVersionGuard, isSupersededVersion } from '../../src/grades/version-guard.js'
import { createTestDb } from '../helpers/db.js'
import { createSeeder } from '../support/grade-targets-seed.js'

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

  const guard = createVersionGuard(db.knex)
  t.equal(await guard.isSuperseded({ targetKey: `a:${a}`, version: 2 }), false)
  t.equal(await guard.isSuperseded({ targetKey: `a:${a}`, version: 1 }), true)
  t.equal(await guard.isSuperseded({ targetKey: `r:${r}`, version: 7 }), false)
  t.equal(await guard.isSuperseded({ targetKey: `r:${r}`, version: 6 }), true)
  t.equal(await guard.isSuperseded({ targetKey: `a:${a + 100}`, version: 1 }), true, 'deleted target')
  t.equal(await guard.isSuperseded({ targetKey: 'x:1', version: 1 }), true, 'not a target key')
  await db.knex.transaction(async trx => {
    await trx('graded_assignments').where({ id: a }).update({ version_number: 3 })
    t.equal(await guard.isSuperseded({ targetKey: `a:${a}`, version: 2 }, trx), true, 'reads inside the caller\'s transaction')
  })
})
