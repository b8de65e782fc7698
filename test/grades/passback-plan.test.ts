import t from 'tap'
import { compositeMethodFor, leafScore, planPassbacks, platformHostOf, scoreRatio } from '../../src/grades/passback-plan.js'
import type { GradedTarget } from '../../src/grades/outbox-types.js'

const COURSE = 'course-v1:edX+DemoX+Demo_Course'
const block = (type: string, id: string) => `block-v1:edX+DemoX+Demo_Course+type@${type}+block@${id}`

t.test('leaf score: earned/possible as sent, edx\'s ratio rule for resets and zero possible', async t => {
  // The event-bus fixture "leaf-problem": 2 of 3.
  t.same(leafScore({ weightedEarned: 2, weightedPossible: 3, scoreDeleted: false }), { scoreGiven: 2, scoreMaximum: 3 })
  t.equal(scoreRatio(2, 3), 2 / 3)
  // Submissions score_reset: 0/0 with score_deleted → 0 (event-bus.md §8).
  t.same(leafScore({ weightedEarned: 0, weightedPossible: 0, scoreDeleted: true }), { scoreGiven: 0, scoreMaximum: 0 })
  t.equal(scoreRatio(0, 0), 0, '0 when possible is 0, never NaN')
  // A deletion that still states a possible: 0 of it.
  t.same(leafScore({ weightedEarned: 4, weightedPossible: 5, scoreDeleted: true }), { scoreGiven: 0, scoreMaximum: 5 })
  // Zero-weight CAPA problem: earned 1 of possible 0 → 0.
  t.same(leafScore({ weightedEarned: 1, weightedPossible: 0, scoreDeleted: false }), { scoreGiven: 0, scoreMaximum: 0 })
  // Outside 0..possible (a broken producer): clamped so the ratio stays a valid LTI 1.1 score.
  t.same(leafScore({ weightedEarned: 7, weightedPossible: 5, scoreDeleted: false }), { scoreGiven: 5, scoreMaximum: 5 })
  t.same(leafScore({ weightedEarned: -1, weightedPossible: 5, scoreDeleted: false }), { scoreGiven: 0, scoreMaximum: 5 })
})

t.test('composite method by the launched block type', async t => {
  t.equal(compositeMethodFor(block('sequential', 'hw1')), 'subsection')
  t.equal(compositeMethodFor(block('vertical', 'u1')), 'unit')
  t.equal(compositeMethodFor(block('chapter', 'w1')), 'unit')
  t.equal(compositeMethodFor(block('library_content', 'lc')), 'unit')
})

t.test('platform host: host and port of the outcome / line item URL', async t => {
  t.equal(platformHostOf('https://Canvas.Example.edu/api/lti/v1/tools/1/grade_passback'), 'canvas.example.edu')
  t.equal(platformHostOf('http://127.0.0.1:8443/lineitems/1'), '127.0.0.1:8443')
  t.equal(platformHostOf('not a url'), '')
})

t.test('plan: leaf due now with the score, composite due after the delay without one', async t => {
  const target = (kind: 'lti11' | 'lti13', id: number, usageKey: string): GradedTarget => ({
    targetKey: `${kind === 'lti11' ? 'a' : 'r'}:${id}`, kind, id, lmsUserId: 42, lmsUsername: 'learner', courseKey: COURSE, usageKey,
    versionNumber: 0, platformUrl: kind === 'lti11' ? 'https://lms.example.edu/outcomes' : 'https://moodle.example.edu/lineitems/1'
  })
  const problem = block('problem', 'p1')
  const change = { usageKey: problem, weightedEarned: 2, weightedPossible: 3, scoreDeleted: false, modifiedUs: 1_700_000_000_123_456, ceId: 'ce-1' }
  const targets = [target('lti11', 1, problem), target('lti13', 5, block('vertical', 'u1')), target('lti11', 2, block('sequential', 's1'))]
  const versions = new Map([['a:1', 3], ['r:5', 1], ['a:2', 9]])
  const jobs = planPassbacks(change, targets, versions, { now: 1000, compositeDelayMs: 900_000 })
  t.same(jobs, [
    { kind: 'lti11', gradedAssignmentId: 1, gradedResourceId: null, targetKey: 'a:1', version: 3, method: 'leaf', scoreGiven: 2, scoreMaximum: 3, eventTimeUs: 1_700_000_000_123_456, ceId: 'ce-1', platformHost: 'lms.example.edu', dueAt: 1000 },
    { kind: 'lti13', gradedAssignmentId: null, gradedResourceId: 5, targetKey: 'r:5', version: 1, method: 'unit', scoreGiven: null, scoreMaximum: null, eventTimeUs: 1_700_000_000_123_456, ceId: 'ce-1', platformHost: 'moodle.example.edu', dueAt: 901_000 },
    { kind: 'lti11', gradedAssignmentId: 2, gradedResourceId: null, targetKey: 'a:2', version: 9, method: 'subsection', scoreGiven: null, scoreMaximum: null, eventTimeUs: 1_700_000_000_123_456, ceId: 'ce-1', platformHost: 'lms.example.edu', dueAt: 901_000 }
  ])
  t.throws(() => planPassbacks(change, targets, new Map(), { now: 0, compositeDelayMs: 0 }), /no bumped version/)
})
