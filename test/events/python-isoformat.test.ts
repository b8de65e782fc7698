import t from 'tap'
import { isoformatToEpochMicros, toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'

// Expected values computed with CPython 3.11 datetime.fromisoformat (naive read as UTC).
const PYTHON: Array<[string, number]> = [
  ['2026-11-20T10:15:30.123456+00:00', 1795169730123456],
  ['2026-11-21T08:00:00+00:00', 1795248000000000],
  ['2026-11-22T12:00:00.5+00:00', 1795348800500000],
  ['2024-05-01T12:00:00.123456+02:00', 1714557600123456],
  ['2024-05-01T12:00:00-05:30', 1714584600000000],
  ['1969-12-31T23:59:59.999999+00:00', -1],
  ['2024-02-29T00:00:00', 1709164800000000],
  ['2024-05-01T12:00:00.000001+00:00', 1714564800000001]
]

t.test('epoch microseconds match Python', async t => {
  for (const [text, micros] of PYTHON) t.equal(isoformatToEpochMicros(text), micros, text)
})

t.test('microsecond order is kept where Date would lose it', async t => {
  const a = isoformatToEpochMicros('2026-11-20T10:15:30.123456+00:00')!
  const b = isoformatToEpochMicros('2026-11-20T10:15:30.123457+00:00')!
  t.ok(b > a)
  t.equal(new Date('2026-11-20T10:15:30.123456Z').getTime(), new Date('2026-11-20T10:15:30.123457Z').getTime(), 'Date cannot tell them apart')
})

t.test('accepted variants', async t => {
  t.equal(isoformatToEpochMicros('2026-11-21T08:00:00Z'), 1795248000000000)
  t.equal(isoformatToEpochMicros('2026-11-21 08:00:00+00:00'), 1795248000000000, 'space separator')
  t.equal(isoformatToEpochMicros('2026-11-21T08:00:00.123456789+00:00'), 1795248000123456, 'nanoseconds truncated')
  t.equal(isoformatToEpochMicros('2026-11-21T09:00:30+01:00:30'), 1795248000000000, 'offset with seconds')
})

t.test('refused', async t => {
  for (const text of ['', 'now', '2026-11-21', '2026-11-21T08:00', '2026-02-30T00:00:00+00:00', '2026-13-01T00:00:00+00:00',
    '2026-11-21T24:00:00+00:00', '2026-11-21T08:00:60+00:00', '2026-11-21T08:00:00+24:00', '2026-11-21T08:00:00.+00:00',
    ' 2026-11-21T08:00:00+00:00', '0000-01-01T00:00:00+00:00', '0001-01-01T00:00:00+00:00' /* outside the safe integer range */]) {
    t.equal(isoformatToEpochMicros(text), undefined, JSON.stringify(text))
  }
})

t.test('toPythonIsoformat writes what Python isoformat writes', async t => {
  t.equal(toPythonIsoformat(new Date('2024-05-01T12:00:00.123Z')), '2024-05-01T12:00:00.123000+00:00')
  t.equal(toPythonIsoformat(new Date('2026-11-21T08:00:00Z')), '2026-11-21T08:00:00+00:00', 'fraction omitted when zero')
  t.throws(() => toPythonIsoformat(new Date('nope')), RangeError)
})
