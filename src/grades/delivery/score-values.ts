/**
 * The numbers and the time a platform receives, from what the outbox stores (event-bus.md §7–§8,
 * wire-formats.md §3, §7).
 */

/**
 * LTI 1.1 `textString`: given / maximum, 0 when the maximum is 0 (edx's rule for 0/0), clamped to
 * 0..1 because replaceResult accepts nothing else (Open edX answers `failure` outside it).
 */
export function outcomeRatio (given: number, maximum: number): number {
  if (!Number.isFinite(given) || !Number.isFinite(maximum) || maximum <= 0) return 0
  return Math.min(Math.max(given / maximum, 0), 1)
}

/**
 * AGS `scoreGiven`/`scoreMaximum`: AGS requires a positive maximum, so edx's 0/0 becomes 0 of 1
 * (the same ratio); the given score is clamped into 0..maximum as for LTI 1.1.
 */
export function agsScorePair (given: number, maximum: number): { scoreGiven: number, scoreMaximum: number } {
  if (!Number.isFinite(maximum) || maximum <= 0) return { scoreGiven: 0, scoreMaximum: 1 }
  const safeGiven = Number.isFinite(given) ? given : 0
  return { scoreGiven: Math.min(Math.max(safeGiven, 0), maximum), scoreMaximum: maximum }
}

/**
 * The AGS `timestamp` of a change from its epoch microseconds: ISO 8601, six fractional digits and
 * an explicit `+00:00`. Microseconds, not milliseconds: Open edX stores the timestamp to the
 * microsecond and answers "already exists" to an equal one, so two changes within one millisecond
 * must not look like a retry of each other. Stable across retries because the job stores it.
 */
export function isoMicroseconds (epochUs: number): string {
  if (!Number.isSafeInteger(epochUs)) throw new RangeError('event time must be an integer number of microseconds')
  const seconds = Math.floor(epochUs / 1_000_000)
  const micros = epochUs - seconds * 1_000_000
  const whole = new Date(seconds * 1000).toISOString() // YYYY-MM-DDTHH:MM:SS.000Z
  return `${whole.slice(0, 19)}.${String(micros).padStart(6, '0')}+00:00`
}
