import t from 'tap'
import { createProblemScoresRepository } from '../../src/db/repositories/problem-scores-repository.js'
import { createCompositeScorer, scorablePostOrder } from '../../src/grades/composite-score.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { createTestDb } from '../helpers/db.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey } from '../support/fake-lms.js'

t.setTimeout(120_000)

const key = (type: string, id: string) => usageKey(DEMO_COURSE_ID, type, id)
const P1 = key('problem', 'p1')
const P2 = key('problem', 'p2')
const P3 = key('problem', 'p3')

async function setup (t: { teardown: (fn: () => unknown) => void }, options: { enrolled?: boolean } = {}) {
  const db = await createTestDb(t)
  const lms = await startFakeLms()
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', retries: 0, timeoutMs: 2000 })
  t.teardown(async () => { await client.close(); await lms.close() })
  const learner = lms.state.addUser({ username: 'learner1', email: 'learner1@example.com' })
  if (options.enrolled ?? true) lms.state.enroll(learner.username, DEMO_COURSE_ID)
  // Raw CAPA scores: p1 1/1; p2 1/2 with weight 5 → 2.5/5; p3 not attempted (0 of its max 1).
  lms.state.setProblemScore(learner.username, P1, 1, 1)
  lms.state.setProblemScore(learner.username, P2, 1, 2)
  const ledger = createProblemScoresRepository(db.knex)
  const scorer = createCompositeScorer({ lms: client, ledger })
  const ask = (usageKey: string) => scorer.computeComposite({ lmsUserId: learner.id, lmsUsername: learner.username, courseKey: DEMO_COURSE_ID, usageKey })
  return { db, lms, learner, ledger, ask, client }
}

t.test('what edx\'s score_for_block gives, block type by block type', async t => {
  const s = await setup(t)
  // score_for_block sums weighted scores of the learner's scorable descendants (openedx-rest.md §7.1).
  t.same(await s.ask(key('sequential', 'homework1')), { earned: 3.5, possible: 7, method: 'subsection', approximate: false }, 'sequential: the subsection grade')
  t.same(await s.ask(key('vertical', 'unit1')), { earned: 3.5, possible: 6, method: 'progress', approximate: false }, 'unit: p1 1/1 + p2 2.5/5')
  t.same(await s.ask(key('vertical', 'unit2')), { earned: 0, possible: 1, method: 'progress', approximate: false }, 'unattempted: 0 of its maximum')
  t.same(await s.ask(key('vertical', 'unit3')), { earned: 0, possible: 0, method: 'progress', approximate: false }, 'nothing scorable: 0/0 (ratio 0)')
  t.same(await s.ask(P2), { earned: 2.5, possible: 5, method: 'progress', approximate: false }, 'a problem: its weighted score')
  t.same(await s.ask(key('chapter', 'week1')), { earned: 3.5, possible: 7, method: 'subsections', approximate: false }, 'chapter: its subsections summed')
  t.same(await s.ask(key('course', 'course')), { earned: 3.5, possible: 7, method: 'subsections', approximate: false })
  t.equal(s.lms.state.callCount('subsection-grade'), 1 + 2 + 2)
})

t.test('unit without a usable progress answer: the ledger plus block weights', async t => {
  // Not enrolled: the progress API answers 404, so the post-order match is impossible.
  const s = await setup(t, { enrolled: false })
  await s.ledger.upsertIfNewer({ lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P1, weightedEarned: 1, weightedPossible: 1, scoreDeleted: false, modifiedUs: 1, ceId: 'c1', updatedAt: 0 })
  // p2 has no ledger row but an explicit weight: 0 of 5.
  t.same(await s.ask(key('vertical', 'unit1')), { earned: 1, possible: 6, method: 'ledger', approximate: false })
  // p3: no ledger row and no weight: its possible is unknowable from the Blocks API.
  t.same(await s.ask(key('vertical', 'unit2')), { earned: 0, possible: 0, method: 'ledger', approximate: true })
  await s.ledger.upsertIfNewer({ lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P3, weightedEarned: 0, weightedPossible: 0, scoreDeleted: true, modifiedUs: 2, ceId: 'c2', updatedAt: 0 })
  t.same(await s.ask(key('vertical', 'unit2')), { earned: 0, possible: 0, method: 'ledger', approximate: true }, 'a reset counts as not attempted')
  await s.ledger.upsertIfNewer({ lmsUserId: s.learner.id, courseKey: DEMO_COURSE_ID, usageKey: P3, weightedEarned: 1, weightedPossible: 1, scoreDeleted: false, modifiedUs: 3, ceId: 'c3', updatedAt: 0 })
  t.same(await s.ask(key('vertical', 'unit2')), { earned: 1, possible: 1, method: 'ledger', approximate: false })
})

t.test('errors: unknown content, bad keys, LMS down', async t => {
  const s = await setup(t)
  await t.rejects(s.ask(key('vertical', 'nope')), { code: 'GRADES_UNKNOWN_BLOCK' })
  await t.rejects(s.ask(key('sequential', 'nope')), { code: 'GRADES_UNKNOWN_BLOCK' })
  await t.rejects(s.ask('block-v1:Other+C+R+type@vertical+block@u'), { code: 'GRADES_CONTENT_MISMATCH' })
  const unknownCourse = 'course-v1:Nope+N+N'
  await t.rejects(createCompositeScorer({ lms: s.client, ledger: s.ledger }).computeComposite({
    lmsUserId: s.learner.id, lmsUsername: s.learner.username, courseKey: unknownCourse, usageKey: 'block-v1:Nope+N+N+type@vertical+block@u'
  }), { code: 'GRADES_UNKNOWN_COURSE' })
  s.lms.state.failNext('subsection-grade', 1, 503)
  await t.rejects(s.ask(key('sequential', 'homework1')), { code: 'GRADES_LMS_UNAVAILABLE' })
  s.lms.state.failNext('progress', 1, 'reset')
  await t.rejects(s.ask(key('vertical', 'unit1')), { code: 'GRADES_LMS_UNAVAILABLE' })
  t.same(await s.ask(key('vertical', 'unit1')), { earned: 3.5, possible: 6, method: 'progress', approximate: false }, 'fine again once the LMS answers')
})

t.test('scorable post-order: children before parents, in child order', async t => {
  const tree = {
    root: 'r',
    blocks: Object.fromEntries([
      ['r', ['a', 'd'], false], ['a', ['b', 'c'], true], ['b', [], true], ['c', [], true], ['d', [], true]
    ].map(([id, children, hasScore]) => [id, { id, blockId: id, type: 'x', displayName: '', children, hasScore, weight: null, graded: false, format: null, due: null, showCorrectness: null, lmsWebUrl: null, studentViewUrl: null }]))
  } as unknown as Parameters<typeof scorablePostOrder>[0]
  t.same(scorablePostOrder(tree, 'r'), ['b', 'c', 'a', 'd'])
  t.same(scorablePostOrder(tree, 'missing'), [])
})
