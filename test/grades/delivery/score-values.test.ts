import t from 'tap'
import { agsScorePair, isoMicroseconds, outcomeRatio } from '../../../src/grades/delivery/score-values.js'
import { formatOutcomeScore } from '../../../src/lti/v11/outcomes.js'

t.test('LTI 1.1 ratio: edx rule (0 for 0/0), clamped to 0..1', async t => {
  t.equal(outcomeRatio(8.5, 10), 0.85)
  t.equal(formatOutcomeScore(outcomeRatio(8.5, 10)), '0.85', 'as Vector D writes it')
  t.equal(outcomeRatio(0, 0), 0)
  t.equal(outcomeRatio(3, 0), 0)
  t.equal(outcomeRatio(12, 10), 1)
  t.equal(outcomeRatio(-1, 10), 0)
  t.equal(outcomeRatio(Number.NaN, 10), 0)
  t.equal(outcomeRatio(1, Number.POSITIVE_INFINITY), 0)
  t.equal(formatOutcomeScore(outcomeRatio(1, 3)), '0.3333333333')
})

t.test('AGS pair: positive maximum always, given clamped', async t => {
  t.same(agsScorePair(8.5, 10), { scoreGiven: 8.5, scoreMaximum: 10 })
  t.same(agsScorePair(0, 0), { scoreGiven: 0, scoreMaximum: 1 })
  t.same(agsScorePair(11, 10), { scoreGiven: 10, scoreMaximum: 10 })
  t.same(agsScorePair(-2, 10), { scoreGiven: 0, scoreMaximum: 10 })
  t.same(agsScorePair(Number.NaN, 4), { scoreGiven: 0, scoreMaximum: 4 })
})

t.test('AGS timestamp: microseconds, +00:00, identical for the same event time', async t => {
  // 1700000000 s is 2023-11-14T22:13:20Z (a well-known epoch milestone).
  t.equal(isoMicroseconds(1_700_000_000_123_456), '2023-11-14T22:13:20.123456+00:00')
  t.equal(isoMicroseconds(1_700_000_000_000_001), '2023-11-14T22:13:20.000001+00:00')
  t.equal(isoMicroseconds(0), '1970-01-01T00:00:00.000000+00:00')
  t.equal(isoMicroseconds(-1), '1969-12-31T23:59:59.999999+00:00')
  t.not(isoMicroseconds(1_700_000_000_123_456), isoMicroseconds(1_700_000_000_123_457), 'two changes in one millisecond stay distinct')
  t.throws(() => isoMicroseconds(1.5), RangeError)
  t.throws(() => isoMicroseconds(Number.MAX_VALUE), RangeError)
})
