/**
 * When to try an LMS call again. Exponential backoff with "equal jitter" (half fixed, half random)
 * spreads the retries of many launches that failed together; a server's Retry-After wins when it
 * asks for longer.
 */
export interface BackoffPolicy {
  readonly baseDelayMs: number
  readonly maxDelayMs: number
}

export function backoffDelayMs (attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Milliseconds from `nowMs`, never
 * negative, or null when absent or unreadable.
 */
export function parseRetryAfter (value: string | string[] | undefined, nowMs: number): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim()
  if (text === undefined || text === '') return null
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // All three HTTP-date forms start with a day name; anything else is not a date, whatever Date.parse thinks.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null
  const at = Date.parse(text)
  if (Number.isNaN(at)) return null
  return Math.max(0, at - nowMs)
}
