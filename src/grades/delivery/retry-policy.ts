import { isAppError } from '../../errors.js'
import { isTransientOutboundError } from '../../http/errors.js'
import { isGradesError, isPermanentGradesError } from '../errors.js'

/**
 * What a failed delivery means for its job: `transient` (the platform or a dependency may answer
 * next time: back off and try again, up to PASSBACK_MAX_ATTEMPTS) or `permanent` (repeating the
 * same request can only fail the same way: dead at once, with the reason kept for the admin).
 */
export type FailureVerdict =
  | { kind: 'transient', error: string, retryAfterMs?: number | undefined }
  | { kind: 'permanent', error: string }

/** Codes outside the HTTP_OUT_ and GRADES_ families that are worth another try. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'PASSBACK_PLATFORM_UNAVAILABLE', // 5xx, 429, 408 from the platform
  'PASSBACK_TOKEN_UNAVAILABLE', // the same from its token endpoint
  'PASSBACK_COMPOSITE_UNAVAILABLE', // this instance cannot compute composites yet (LMS not configured)
  'KEY_NONE_CURRENT' // first boot of another instance still creating keys
])

export function classifyFailure (err: unknown): FailureVerdict {
  const error = describeError(err)
  // Not one of ours (a database hiccup, a bug): bounded by the attempt limit, so retrying is safe.
  if (!isAppError(err)) return { kind: 'transient', error }
  if (isGradesError(err)) return isPermanentGradesError(err) ? { kind: 'permanent', error } : { kind: 'transient', error }
  if (TRANSIENT_CODES.has(err.code) || isTransientOutboundError(err)) {
    const retryAfterMs = typeof err.details?.retryAfterMs === 'number' ? err.details.retryAfterMs : undefined
    return { kind: 'transient', error, retryAfterMs }
  }
  return { kind: 'permanent', error }
}

const MAX_ERROR_CHARS = 1000

/**
 * `CODE: message {details}` for `passbacks.last_error`. Details of our coded errors hold only
 * non-secret facts (hosts, statuses, platform error codes), never tokens, secrets or bodies we sent.
 */
export function describeError (err: unknown): string {
  let text: string
  if (isAppError(err)) {
    const details = err.details === undefined ? '' : ' ' + detailsJson(err.details)
    text = `${err.code}: ${err.message}${details}`
  } else if (err instanceof Error) {
    text = `INTERNAL: ${err.name}: ${err.message}`
  } else {
    text = `INTERNAL: ${String(err)}`
  }
  return text.length > MAX_ERROR_CHARS ? text.slice(0, MAX_ERROR_CHARS - 1) + '…' : text
}

/** Details are plain facts, but a cycle or a BigInt must not turn a failed delivery into a crash. */
function detailsJson (value: Record<string, unknown>): string {
  try {
    return JSON.stringify(value)
  } catch {
    return '{}'
  }
}

export interface BackoffPolicy {
  /** Delay before the second attempt; doubles per attempt. */
  baseMs: number
  /** Longest exponential delay. */
  maxMs: number
  /** A platform's Retry-After is honoured up to this. */
  retryAfterCapMs: number
}

/** 5 s, 10 s, 20 s … capped at 1 h: twelve attempts span about three and a half hours. */
export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, maxMs: 3_600_000, retryAfterCapMs: 6 * 3_600_000 }

/**
 * Exponential backoff with "equal jitter" after the `attempts`-th failed attempt (1-based): half of
 * the exponential delay is fixed, half random, so retries of many jobs that failed together spread
 * out but never come back sooner than half the schedule. A platform's Retry-After wins when later.
 */
export function backoffDelay (attempts: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random, retryAfterMs?: number): number {
  const exponent = Math.min(Math.max(attempts, 1) - 1, 30)
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent)
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2))
  if (retryAfterMs === undefined || !(retryAfterMs > 0)) return jittered
  return Math.max(jittered, Math.min(retryAfterMs, policy.retryAfterCapMs))
}

/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function parseRetryAfter (value: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const raw = (Array.isArray(value) ? value[0] : value) as string | undefined
  if (raw === undefined) return undefined
  const text = raw.trim()
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  if (Number.isNaN(at) || !/[a-z]/i.test(text)) return undefined
  return Math.max(0, at - nowMs)
}
