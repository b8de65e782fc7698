import t from 'tap'
import { AppError } from '../../src/errors.js'
import { courseRootKey, createCachedCourseStructure, type BlockTreeSource } from '../../src/grades/course-structure.js'
import type { LmsBlock, LmsBlockTree } from '../../src/lms/lms-types.js'
import { lmsError } from '../../src/lms/errors.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey } from '../support/fake-lms.js'

const COURSE = 'course-v1:edX+DemoX+Demo_Course'
const key = (type: string, id: string) => usageKey(COURSE, type, id)
const ROOT = key('course', 'course')

function tree (edges: Array<[string, string[]]>): LmsBlockTree {
  const blocks: Record<string, LmsBlock> = {}
  for (const [id, children] of edges) {
    blocks[id] = { id, blockId: id, type: /type@([^+]+)/.exec(id)?.[1] ?? '', displayName: id, children, hasScore: false, weight: null, graded: false, format: null, due: null, showCorrectness: null, lmsWebUrl: null, studentViewUrl: null }
  }
  return { root: ROOT, blocks }
}

const CH = key('chapter', 'w1')
const SEQ = key('sequential', 's1')
const UNIT = key('vertical', 'u1')
const P1 = key('problem', 'p1')
const LIB = key('library_content', 'lc')
const LIB_A = key('problem', 'lib-a')
const LIB_B = key('problem', 'lib-b')

t.test('course root key of the Blocks API', async t => {
  t.equal(courseRootKey('course-v1:edX+DemoX+Demo_Course'), 'block-v1:edX+DemoX+Demo_Course+type@course+block@course')
})

t.test('ancestors from the tree, nearest first; cached per course with a TTL', async t => {
  let now = 0
  const calls: Array<[string, string]> = []
  const source: BlockTreeSource = {
    getBlockTree: async (root, username) => {
      calls.push([root, username])
      return tree([[ROOT, [CH]], [CH, [SEQ]], [SEQ, [UNIT]], [UNIT, [P1]], [P1, []]])
    }
  }
  const structure = createCachedCourseStructure({ source, ttlMs: 1000, now: () => now })
  t.same(await structure.ancestorsOf(COURSE, P1, 'alice'), [UNIT, SEQ, CH, ROOT])
  t.same(await structure.ancestorsOf(COURSE, UNIT, 'bob'), [SEQ, CH, ROOT])
  t.same(calls, [[ROOT, 'alice']], 'one Blocks API call for the course, the learner\'s view')
  now = 1000
  await structure.ancestorsOf(COURSE, P1, 'carol')
  t.equal(calls.length, 2, 'fetched again after the TTL')
  t.equal(structure.stats.fetches, 2)
})

t.test('single flight per course and learner', async t => {
  let release!: () => void
  const gate = new Promise<void>(resolve => { release = resolve })
  let calls = 0
  const source: BlockTreeSource = {
    getBlockTree: async () => {
      calls++
      await gate
      return tree([[ROOT, [P1]], [P1, []]])
    }
  }
  const structure = createCachedCourseStructure({ source })
  const all = Promise.all(Array.from({ length: 20 }, () => structure.ancestorsOf(COURSE, P1, 'alice')))
  release()
  t.same((await all)[19], [ROOT])
  t.equal(calls, 1, 'twenty concurrent events, one LMS call')
})

t.test('learner views (randomised library content) merge; a block missing from the view is fetched in its learner\'s view', async t => {
  const views: Record<string, LmsBlockTree> = {
    alice: tree([[ROOT, [UNIT]], [UNIT, [LIB]], [LIB, [LIB_A]], [LIB_A, []]]),
    bob: tree([[ROOT, [UNIT]], [UNIT, [LIB]], [LIB, [LIB_B]], [LIB_B, []]])
  }
  const calls: string[] = []
  const structure = createCachedCourseStructure({ source: { getBlockTree: async (_root, user) => { calls.push(user); return views[user] ?? null } } })
  t.same(await structure.ancestorsOf(COURSE, LIB_A, 'alice'), [LIB, UNIT, ROOT])
  t.same(await structure.ancestorsOf(COURSE, LIB_B, 'bob'), [LIB, UNIT, ROOT])
  t.same(await structure.ancestorsOf(COURSE, LIB_A, 'bob'), [LIB, UNIT, ROOT], 'alice\'s view is kept')
  t.same(calls, ['alice', 'bob'])
})

t.test('unknown course, unknown block, LMS failures', async t => {
  const calls: string[] = []
  let failure: unknown
  const source: BlockTreeSource = {
    getBlockTree: async (root, user) => {
      calls.push(user)
      if (failure !== undefined) throw failure
      return root === ROOT ? tree([[ROOT, [P1]], [P1, []]]) : null
    }
  }
  const structure = createCachedCourseStructure({ source })
  await t.rejects(structure.ancestorsOf('course-v1:Other+X+Y', 'block-v1:Other+X+Y+type@problem+block@p', 'alice'), { code: 'GRADES_UNKNOWN_COURSE' })
  const ghost = key('problem', 'deleted')
  await t.rejects(structure.ancestorsOf(COURSE, ghost, 'alice'), { code: 'GRADES_UNKNOWN_BLOCK' })
  const before = calls.length
  await t.rejects(structure.ancestorsOf(COURSE, ghost, 'alice'), { code: 'GRADES_UNKNOWN_BLOCK' })
  t.equal(calls.length, before, 'a burst of events for a deleted block costs one LMS call')

  const fresh = createCachedCourseStructure({ source })
  failure = lmsError('LMS_UNAVAILABLE', { call: 'blocks' })
  const err = await fresh.ancestorsOf(COURSE, P1, 'alice').catch((e: unknown) => e) as AppError
  t.match(err, { code: 'GRADES_LMS_UNAVAILABLE', details: { lmsCode: 'LMS_UNAVAILABLE', courseKey: COURSE } })
  t.equal((err as { cause?: unknown }).cause, failure, 'cause kept for the logs')
  failure = new Error('socket hang up')
  await t.rejects(fresh.ancestorsOf(COURSE, P1, 'alice'), { code: 'GRADES_LMS_UNAVAILABLE' })
  failure = lmsError('LMS_CONTENT_KEY_INVALID', { field: 'blockKey' })
  await t.rejects(fresh.ancestorsOf(COURSE, P1, 'alice'), { code: 'GRADES_CONTENT_MISMATCH' })
  failure = undefined
  t.same(await fresh.ancestorsOf(COURSE, P1, 'alice'), [ROOT], 'failures are not cached')
})

t.test('against the fake LMS through the real LmsClient', async t => {
  const lms = await startFakeLms()
  const learner = lms.state.addUser({ username: 'learner1', email: 'learner1@example.com' })
  const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret', retries: 0 })
  t.teardown(async () => { await client.close(); await lms.close() })
  const structure = createCachedCourseStructure({ source: client })
  const p2 = usageKey(DEMO_COURSE_ID, 'problem', 'p2')
  t.same(await structure.ancestorsOf(DEMO_COURSE_ID, p2, learner.username), [
    usageKey(DEMO_COURSE_ID, 'vertical', 'unit1'),
    usageKey(DEMO_COURSE_ID, 'sequential', 'homework1'),
    usageKey(DEMO_COURSE_ID, 'chapter', 'week1'),
    usageKey(DEMO_COURSE_ID, 'course', 'course')
  ])
  const req = lms.state.requests.find(r => r.route === 'blocks')
  t.match(req?.url, /username=learner1/, 'the learner\'s view')
  lms.state.failNext('blocks', 1, 503)
  const other = createCachedCourseStructure({ source: client })
  await t.rejects(other.ancestorsOf(DEMO_COURSE_ID, p2, learner.username), { code: 'GRADES_LMS_UNAVAILABLE' })
  await t.rejects(structure.ancestorsOf('course-v1:Nope+N+N', 'block-v1:Nope+N+N+type@problem+block@x', learner.username), { code: 'GRADES_UNKNOWN_COURSE' })
})
