import t from 'tap'
import type { Knex } from 'knex'
import { createCachedCourseStructure } from '../../src/grades/course-structure.js'
import { createScoreChangeRecorder, type ScoreChange } from '../../src/grades/score-change-recorder.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { createTestDb } from '../helpers/db.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey, type FakeLms } from '../support/fake-lms.js'
import { createSeeder } from '../support/grade-targets-seed.js'

t.setTimeout(120_000)

const P1 = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const P3 = usageKey(DEMO_COURSE_ID, 'problem', 'p3')
const UNIT1 = usageKey(DEMO_COURSE_ID, 'vertical', 'unit1')
const HOMEWORK = usageKey(DEMO_COURSE_ID, 'sequential', 'homework1')
const DELAY_MS = 900_000
const NOW = 1_800_000_000_000

interface Setup {
  knex: Knex
  lms: FakeLms
  learner: { id: number, username: string }
  seed: ReturnType<typeof createSeeder>
  record: (change: Partial<ScoreChange>) => ReturnType<ReturnType<typeof createScoreChangeRecorder>['record']>
  rows: (table: string) => Promise<Array<Record<string, unknown>>>
}

async function setup (t: { teardown: (fn: () => unknown) => void }, options: { structure?: boolean, lmsTimeoutMs?: number } = {}): Promise<Setup> {
  const db = await createTestDb(t)
  const lms = await startFakeLms()
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', retries: 0, timeoutMs: options.lmsTimeoutMs ?? 2000 })
  t.teardown(async () => { await client.close(); await lms.close() })
  const learner = lms.state.addUser({ username: 'learner1', email: 'learner1@example.com' })
  const recorder = createScoreChangeRecorder({
    knex: db.knex,
    structure: options.structure === false ? undefined : createCachedCourseStructure({ source: client }),
    compositeDelayMs: DELAY_MS,
    now: () => NOW
  })
  let n = 0
  const record = (change: Partial<ScoreChange>) => recorder.record({
    ceId: `ce-${++n}`,
    ceType: 'org.openedx.learning.problem.weighted_score.changed.v1',
    lmsUserId: learner.id,
    courseKey: DEMO_COURSE_ID,
    usageKey: P1,
    weightedEarned: 2,
    weightedPossible: 3,
    scoreDeleted: false,
    modifiedUs: 1_700_000_000_000_000 + n,
    ...change
  })
  const rows = async (table: string) => db.knex(table).select('*').orderBy('id') as Promise<Array<Record<string, unknown>>>
  return { knex: db.knex, lms, learner, seed: createSeeder(db.knex), record, rows }
}

t.test('LTI 1.1 launch on the problem: one leaf job 2/3 due now; redelivery writes nothing', async t => {
  const s = await setup(t)
  const user = await s.seed.lti11User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username, outcomeUrl: 'https://canvas.example.edu/api/lti/v1/tools/9/grade_passback' })
  const assignmentId = await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P1 })

  t.same(await s.record({ ceId: 'ce-leaf', modifiedUs: 1_763_633_730_123_456 }), { outcome: 'queued', jobs: 1 })
  const [job, ...more] = await s.rows('passbacks')
  t.equal(more.length, 0, 'exactly one job')
  t.match(job, {
    kind: 'lti11', graded_assignment_id: assignmentId, graded_resource_id: null, target_key: `a:${assignmentId}`, version: 1,
    method: 'leaf', score_given: 2, score_maximum: 3, event_time_us: 1_763_633_730_123_456, ce_id: 'ce-leaf',
    platform_host: 'canvas.example.edu', status: 'pending', attempts: 0, due_at: NOW, created_at: NOW
  })
  t.equal(Number(job?.score_given) / Number(job?.score_maximum), 2 / 3)
  t.match((await s.rows('graded_assignments'))[0], { version_number: 1 }, 'version bumped as edx does')
  t.match(await s.rows('processed_events'), [{ ce_id: 'ce-leaf', outcome: 'queued', processed_at: NOW }])
  t.match(await s.rows('problem_scores'), [{ lms_user_id: s.learner.id, course_key: DEMO_COURSE_ID, usage_key: P1, weighted_earned: 2, weighted_possible: 3, modified_us: 1_763_633_730_123_456, ce_id: 'ce-leaf' }])
  t.equal(s.lms.state.callCount('blocks'), 0, 'a launch on the problem itself needs no course tree')

  t.same(await s.record({ ceId: 'ce-leaf', modifiedUs: 1_763_633_730_123_456 }), { outcome: 'duplicate', jobs: 0 })
  t.equal((await s.rows('passbacks')).length, 1, 'no second job')
  t.match((await s.rows('graded_assignments'))[0], { version_number: 1 }, 'no second bump')
})

t.test('unit-level launch: one delayed composite job; three quick events leave one to send, the newest', async t => {
  const s = await setup(t)
  const profile = await s.seed.lti13User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  const resourceId = await s.seed.resource(profile.profileId, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: UNIT1, lineitemUrl: 'https://moodle.example.edu/mod/lti/services.php/4/lineitems/12/lineitem?type_id=3' })

  t.same(await s.record({}), { outcome: 'queued', jobs: 1 })
  t.match(await s.rows('passbacks'), [{
    kind: 'lti13', graded_resource_id: resourceId, target_key: `r:${resourceId}`, version: 1, method: 'unit',
    score_given: null, score_maximum: null, status: 'pending', due_at: NOW + DELAY_MS, platform_host: 'moodle.example.edu'
  }])
  t.equal(s.lms.state.callCount('blocks'), 1, 'the course tree was read to find the unit above the problem')

  t.same(await s.record({ weightedEarned: 3 }), { outcome: 'queued', jobs: 1 })
  t.same(await s.record({ usageKey: usageKey(DEMO_COURSE_ID, 'problem', 'p2'), weightedEarned: 5, weightedPossible: 5 }), { outcome: 'queued', jobs: 1 })
  const jobs = await s.rows('passbacks')
  t.same(jobs.map(j => [j.version, j.status]), [[1, 'superseded'], [2, 'superseded'], [3, 'pending']], 'exactly one job to send, the newest version')
  t.match((await s.rows('graded_resources'))[0], { version_number: 3 })
  t.equal(s.lms.state.callCount('blocks'), 1, 'the tree is cached per course')

  t.same(await s.record({ usageKey: P3 }), { outcome: 'unmatched', jobs: 0 }, 'a problem of another unit does not touch this launch')
  t.match((await s.rows('processed_events')).at(-1), { outcome: 'ignored' })
  t.equal((await s.rows('problem_scores')).length, 3, 'the ledger keeps every problem of the learner')
})

t.test('one change feeds every launch above the problem: leaf, unit and subsection', async t => {
  const s = await setup(t)
  const user = await s.seed.lti11User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  const leaf = await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P1 })
  const sub = await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: HOMEWORK })
  const profile = await s.seed.lti13User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  const unit = await s.seed.resource(profile.profileId, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: UNIT1 })
  const other = await s.seed.lti11User({ lmsUserId: s.learner.id + 1000, lmsUsername: 'someone-else' })
  await s.seed.assignment(other, { lmsUserId: s.learner.id + 1000, courseKey: DEMO_COURSE_ID, usageKey: P1 })

  t.same(await s.record({}), { outcome: 'queued', jobs: 3 })
  const jobs = await s.rows('passbacks')
  t.same(jobs.map(j => [j.target_key, j.method, j.score_given, j.due_at]).sort(), [
    [`a:${leaf}`, 'leaf', 2, NOW],
    [`a:${sub}`, 'subsection', null, NOW + DELAY_MS],
    [`r:${unit}`, 'unit', null, NOW + DELAY_MS]
  ].sort(), 'another learner\'s launch on the same problem is not touched')
})

t.test('ordering, resets and contexts', async t => {
  const s = await setup(t)
  const user = await s.seed.lti11User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P1 })

  t.same(await s.record({ modifiedUs: 2_000, weightedEarned: 3 }), { outcome: 'queued', jobs: 1 })
  t.same(await s.record({ modifiedUs: 1_000, weightedEarned: 1 }), { outcome: 'stale', jobs: 0 }, 'an older change arriving late sends nothing')
  t.match(await s.rows('problem_scores'), [{ weighted_earned: 3, modified_us: 2_000 }], 'and does not overwrite the ledger')
  t.match((await s.rows('processed_events')).at(-1), { outcome: 'ignored' }, 'but its ce_id is recorded')

  t.same(await s.record({ modifiedUs: 3_000, weightedEarned: 0, weightedPossible: 0, scoreDeleted: true }), { outcome: 'queued', jobs: 1 })
  t.match((await s.rows('passbacks')).at(-1), { method: 'leaf', score_given: 0, score_maximum: 0, version: 2 }, 'a reset sends 0')
  const [ledger] = await s.rows('problem_scores')
  t.match(ledger, { weighted_earned: 0, weighted_possible: 0, modified_us: 3_000 })
  t.equal(Boolean(ledger?.score_deleted), true, 'the reset is recorded')

  const before = (await s.rows('processed_events')).length
  t.same(await s.record({ courseKey: 'lib:OpenedX:demo', usageKey: 'lb:OpenedX:demo:problem:p1' }), { outcome: 'other_context', jobs: 0 }, 'content libraries are skipped like the LMS does')
  t.equal((await s.rows('processed_events')).length, before, 'and nothing is written for them')
  await t.rejects(s.record({ usageKey: 'block-v1:Other+Course+Run+type@problem+block@p1' }), { code: 'GRADES_CONTENT_MISMATCH' })
  await t.rejects(s.record({ usageKey: 'i4x://edX/DemoX/problem/p1' }), { code: 'GRADES_CONTENT_MISMATCH' })
})

t.test('unknown block and LMS timeout: nothing written, the right error to dead-letter or retry', async t => {
  const s = await setup(t, { lmsTimeoutMs: 300 })
  const profile = await s.seed.lti13User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  await s.seed.resource(profile.profileId, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: UNIT1 })

  s.lms.state.failNext('blocks', 1, 'timeout')
  await t.rejects(s.record({ ceId: 'ce-slow' }), { code: 'GRADES_LMS_UNAVAILABLE' })
  for (const table of ['processed_events', 'problem_scores', 'passbacks']) t.equal((await s.rows(table)).length, 0, `no ${table} row`)
  t.same(await s.record({ ceId: 'ce-slow' }), { outcome: 'queued', jobs: 1 }, 'the retry succeeds once the LMS answers')

  await t.rejects(s.record({ usageKey: usageKey(DEMO_COURSE_ID, 'problem', 'not-in-course') }), { code: 'GRADES_UNKNOWN_BLOCK' })
  t.equal((await s.rows('passbacks')).length, 1)
  t.equal((await s.rows('problem_scores')).length, 1)
})

t.test('without an LMS, only launches on the problem itself match', async t => {
  const s = await setup(t, { structure: false })
  const user = await s.seed.lti11User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: UNIT1 })
  t.same(await s.record({}), { outcome: 'unmatched', jobs: 0 })
  await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P1 })
  t.same(await s.record({}), { outcome: 'queued', jobs: 1 })
})

t.test('concurrent changes of one target get distinct versions', async t => {
  const s = await setup(t)
  const user = await s.seed.lti11User({ lmsUserId: s.learner.id, lmsUsername: s.learner.username })
  await s.seed.assignment(user, { lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P1 })
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => s.record({ usageKey: i % 2 === 0 ? P1 : usageKey(DEMO_COURSE_ID, 'problem', 'p2'), modifiedUs: 10_000 + i })))
  const ofP1 = results.filter((_, i) => i % 2 === 0).map(r => r.outcome)
  const queued = ofP1.filter(o => o === 'queued').length
  // Whichever commits first wins; a change older than a committed one is `stale` (sends nothing).
  t.equal(queued + ofP1.filter(o => o === 'stale').length, 3, 'the three changes of P1: queued or stale')
  t.same(results.filter((_, i) => i % 2 === 1).map(r => r.outcome).filter(o => o !== 'unmatched' && o !== 'stale'), [], 'P2 has no launch')
  t.ok(queued >= 1)
  t.same((await s.rows('passbacks')).map(j => Number(j.version)).sort(), Array.from({ length: queued }, (_, i) => i + 1), 'distinct versions')
  t.match(await s.rows('problem_scores'), [{ usage_key: P1, modified_us: 10_004 }], 'the newest change is in the ledger whatever the commit order')
})
