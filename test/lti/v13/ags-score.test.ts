import t from 'tap'
import { readFileSync } from 'node:fs'
import { SCORE_CONTENT_TYPE, buildScore, scoreTimestamp, scoresUrl } from '../../../src/lti/v13/ags-score.js'

// The score example of the 1EdTech AGS 2.0 specification (wire-formats.md §7).
const example = readFileSync(new URL('../../fixtures/lti13/ags-score-example.json', import.meta.url), 'utf8').trim()

t.test('reproduces the specification example byte for byte', async t => {
  const score = buildScore({
    userId: '5323497',
    scoreGiven: 83,
    scoreMaximum: 100,
    comment: 'This is exceptional work.',
    eventTime: new Date('2017-04-16T18:54:36.736+00:00')
  })
  t.equal(JSON.stringify(score), example)
  t.equal(SCORE_CONTENT_TYPE, 'application/vnd.ims.lis.v1.score+json')
})

t.test('defaults and wire values', async t => {
  const score = buildScore({ userId: 'u', scoreGiven: 0.5, scoreMaximum: 1, eventTime: new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6)) })
  t.same(score, { userId: 'u', scoreGiven: 0.5, scoreMaximum: 1, timestamp: '2024-01-02T03:04:05.006+00:00', activityProgress: 'Completed', gradingProgress: 'FullyGraded' })
  t.notOk('comment' in score)
  t.equal(buildScore({ userId: 'u', scoreGiven: 120, scoreMaximum: 100, eventTime: new Date(0) }).scoreGiven, 120, 'may exceed the maximum')
  t.equal(buildScore({ userId: 'u', scoreGiven: 0, scoreMaximum: 1, eventTime: new Date(0), gradingProgress: 'Pending', activityProgress: 'Submitted' }).gradingProgress, 'Pending')
  const t1 = new Date('2024-05-01T10:00:00.123Z')
  t.equal(scoreTimestamp(t1), scoreTimestamp(new Date(t1.getTime())), 'the same event time gives the same timestamp on every retry')
})

t.test('invalid inputs', async t => {
  const ok = { userId: 'u', scoreGiven: 1, scoreMaximum: 2, eventTime: new Date() }
  t.throws(() => buildScore({ ...ok, userId: '' }), { code: 'LTI13_INVALID_SCORE', details: { field: 'userId' } })
  t.throws(() => buildScore({ ...ok, scoreGiven: -1 }), { code: 'LTI13_INVALID_SCORE', details: { field: 'scoreGiven' } })
  t.throws(() => buildScore({ ...ok, scoreGiven: Number.NaN }), { code: 'LTI13_INVALID_SCORE' })
  t.throws(() => buildScore({ ...ok, scoreMaximum: 0 }), { code: 'LTI13_INVALID_SCORE', details: { field: 'scoreMaximum' } })
  t.throws(() => buildScore({ ...ok, scoreMaximum: Number.POSITIVE_INFINITY }), { code: 'LTI13_INVALID_SCORE' })
  t.throws(() => buildScore({ ...ok, eventTime: new Date('nope') }), { code: 'LTI13_INVALID_SCORE', details: { field: 'timestamp' } })
})

t.test('scores URL: /scores inserted into the path, query kept', async t => {
  t.equal(scoresUrl('https://moodle.example.test/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1'),
    'https://moodle.example.test/mod/lti/services.php/2/lineitems/2/lineitem/scores?type_id=1')
  t.equal(scoresUrl('https://lms.example.test/api/lti_consumer/v1/lti/5/lti-ags/7'),
    'https://lms.example.test/api/lti_consumer/v1/lti/5/lti-ags/7/scores')
  t.equal(scoresUrl('https://canvas.example.test/api/lti/courses/1/line_items/9/'),
    'https://canvas.example.test/api/lti/courses/1/line_items/9/scores')
  t.equal(scoresUrl('https://p.example.test/li/3?a=1&b=2#frag'), 'https://p.example.test/li/3/scores?a=1&b=2')
  t.throws(() => scoresUrl('not a url'))
})
