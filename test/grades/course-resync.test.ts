import t from 'tap'
import { createProblemScoresRepository } from '../../src/db/repositories/problem-scores-repository.js'
import { createCompositeScorer, type CompositeLms } from '../../src/grades/composite-score.js'
import { resyncCourse } from '../../src/grades/course-resync.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { createTestDb } from '../helpers/db.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey } from '../support/fake-lms.js'
import { createSeeder } from '../support/grade-targets-seed.js'

t.setTimeout(120_000)
const key = (type: string, id: string) => usageKey(DEMO_COURSE_ID, type, id)
const NOW = 1_800_000_000_000

t.test('every LTI launch of the course: recomputed, new version, method resync, due now; older waiting jobs superseded', async t => {
  const db = await createTestDb(t)
  const lms = await startFakeLms()
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', retries: 0 })
  t.teardown(async () => { await client.close(); await lms.close() })
  const learner = lms.state.addUser({ username: 'learner1', email: 'l1@example.com' })
  lms.state.enroll(learner.username, DEMO_COURSE_ID)
  lms.state.setProblemScore(learner.username, key('problem', 'p1'), 1, 1)
  lms.state.setProblemScore(learner.username, key('problem', 'p2'), 2, 2)

  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: learner.id, lmsUsername: learner.username, outcomeUrl: 'https://canvas.example.edu/outcomes' })
  const leaf = await seed.assignment(user, { lmsUserId: learner.id, courseKey: DEMO_COURSE_ID, usageKey: key('problem', 'p2') })
  const seq = await seed.assignment(user, { lmsUserId: learner.id, courseKey: DEMO_COURSE_ID, usageKey: key('sequential', 'homework1') })
  const profile = await seed.lti13User({ lmsUserId: learner.id, lmsUsername: learner.username })
  const unit = await seed.resource(profile.profileId, { lmsUserId: learner.id, courseKey: DEMO_COURSE_ID, usageKey: key('vertical', 'unit1') })
  const elsewhere = await seed.assignment(user, { lmsUserId: learner.id, courseKey: 'course-v1:Other+X+Y', usageKey: 'block-v1:Other+X+Y+type@problem+block@p' })
  const gone = await seed.assignment(user, { lmsUserId: learner.id, courseKey: DEMO_COURSE_ID, usageKey: key('vertical', 'deleted') })
  // A composite still waiting from an earlier event: the resync makes it pointless.
  await db.knex('graded_resources').where({ id: unit }).update({ version_number: 4 })
  await db.knex('passbacks').insert({ kind: 'lti13', graded_resource_id: unit, target_key: `r:${unit}`, version: 4, method: 'unit', event_time_us: 1, platform_host: 'x', status: 'pending', attempts: 0, due_at: NOW + 1, created_at: 0, updated_at: 0 })

  const scorer = createCompositeScorer({ lms: client, ledger: createProblemScoresRepository(db.knex) })
  const result = await resyncCourse({ knex: db.knex, scorer, now: () => NOW }, DEMO_COURSE_ID)
  t.equal(result.targets, 4, 'the launches of this course only')
  t.same(result.enqueued.map(e => [e.targetKey, e.version, e.scoreGiven, e.scoreMaximum, e.method]).sort(), [
    [`a:${leaf}`, 1, 5, 5, 'progress'],
    [`a:${seq}`, 1, 6, 7, 'subsection'],
    [`r:${unit}`, 5, 6, 6, 'progress']
  ].sort())
  t.match(result.failed, [{ targetKey: `a:${gone}`, code: 'GRADES_UNKNOWN_BLOCK' }], 'one failing launch does not stop the others')

  const jobs = await db.knex('passbacks').select('*').orderBy('id')
  t.match(jobs[0], { target_key: `r:${unit}`, version: 4, status: 'superseded' })
  t.match(jobs.filter(j => j.method === 'resync'), [
    { kind: 'lti11', graded_assignment_id: leaf, status: 'pending', due_at: NOW, event_time_us: NOW * 1000, ce_id: null, platform_host: 'canvas.example.edu' },
    { kind: 'lti11', graded_assignment_id: seq },
    { kind: 'lti13', graded_resource_id: unit, version: 5 }
  ])
  t.notOk(jobs.some(j => j.graded_assignment_id === elsewhere))
  await t.rejects(resyncCourse({ knex: db.knex, scorer }, 'not-a-course'), { code: 'GRADES_BAD_COURSE_KEY' })
})

t.test('an LMS outage fails the targets, writes nothing for them', async t => {
  const db = await createTestDb(t)
  const seed = createSeeder(db.knex)
  const user = await seed.lti11User({ lmsUserId: 9, lmsUsername: 'u9' })
  await seed.assignment(user, { lmsUserId: 9, courseKey: DEMO_COURSE_ID, usageKey: key('sequential', 'homework1') })
  const down = new Error('connect ECONNREFUSED')
  const platform: CompositeLms = { getBlockTree: async () => { throw down }, getSubsectionScore: async () => { throw down }, getProgress: async () => { throw down } }
  const result = await resyncCourse({ knex: db.knex, scorer: createCompositeScorer({ lms: platform, ledger: createProblemScoresRepository(db.knex) }) }, DEMO_COURSE_ID)
  t.match(result, { targets: 1, enqueued: [], failed: [{ code: 'GRADES_LMS_UNAVAILABLE' }] })
  t.equal((await db.knex('passbacks').count({ n: '*' }))[0]?.n, 0)
  t.match(await db.knex('graded_assignments').first(), { version_number: 0 }, 'no version burnt')
})
