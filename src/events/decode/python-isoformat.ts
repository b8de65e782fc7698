/**
 * Open edX sends datetimes as Python `datetime.isoformat()` strings (event-bus.md §3.1):
 * `2024-05-01T12:00:00.123456+00:00`, fraction omitted when zero. JS `Date` keeps milliseconds only,
 * and `modified` orders score changes, so comparisons use integer epoch microseconds instead
 * (safe as a JS number until the year 2255).
 */
const ISOFORMAT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:\d{2}(?::\d{2})?)?$/

/**
 * Epoch microseconds of an isoformat string, or undefined when it is not one. Digits past the sixth
 * are dropped (Python keeps microseconds). A missing offset is read as UTC: Open edX runs with
 * `TIME_ZONE = 'UTC'`, so a naive datetime from a careless republisher still means UTC.
 */
export function isoformatToEpochMicros (text: string): number | undefined {
  const m = ISOFORMAT.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  const fraction = m[7] ?? ''
  const micros = Number((fraction + '000000').slice(0, 6))
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined
  // setUTCFullYear, not Date.UTC: the latter maps years 0-99 to 1900-1999.
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  date.setUTCHours(hour, minute, second, 0)
  // Dates roll 31 February over into March: refuse instead of guessing.
  if (date.getUTCDate() !== day) return undefined
  const ms = date.getTime()
  const offsetSeconds = parseOffset(m[8])
  if (offsetSeconds === undefined) return undefined
  const result = (ms / 1000 - offsetSeconds) * 1_000_000 + micros
  return Number.isSafeInteger(result) ? result : undefined
}

function parseOffset (offset: string | undefined): number | undefined {
  if (offset === undefined || offset === 'Z') return 0
  const sign = offset.startsWith('-') ? -1 : 1
  const [h, mi, s = 0] = offset.slice(1).split(':').map(Number) as [number, number, number?]
  if (h > 23 || mi > 59 || s > 59) return undefined
  return sign * (h * 3600 + mi * 60 + s)
}

/** `isoformat()` of a UTC-aware Python datetime built from a JS Date (fraction omitted when zero). */
export function toPythonIsoformat (date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date')
  const iso = date.toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = date.getUTCMilliseconds()
  const fraction = ms === 0 ? '' : `.${String(ms * 1000).padStart(6, '0')}`
  return `${iso.slice(0, 19)}${fraction}+00:00`
}
