import type { AppError } from '../../errors.js'
import type { OutboundResponse } from '../../http/outbound-client.js'
import { PassbackError } from './errors.js'
import { parseRetryAfter } from './retry-policy.js'

/** Which platform call answered: the token endpoint has its own codes so admins see which step failed. */
export type PlatformCall = 'outcome' | 'score' | 'token'

/** Statuses that say "not now" rather than "not this": worth a retry after a backoff. */
export function isRetryableStatus (status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500
}

/**
 * The coded failure for a non-success HTTP answer: UNAVAILABLE (retried, Retry-After kept) for
 * 408/425/429/5xx, REJECTED (dead at once) for everything else, redirects we did not follow
 * included. `platformText` is a short excerpt of what the platform said, for the admin.
 */
export function failureForStatus (call: PlatformCall, res: OutboundResponse, nowMs: number): AppError {
  const host = hostOf(res.url)
  const details = { call, host, httpStatus: res.status, platformText: platformText(res.body) }
  if (isRetryableStatus(res.status)) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], nowMs)
    return PassbackError(call === 'token' ? 'PASSBACK_TOKEN_UNAVAILABLE' : 'PASSBACK_PLATFORM_UNAVAILABLE', { ...details, retryAfterMs })
  }
  return PassbackError(call === 'token' ? 'PASSBACK_TOKEN_REJECTED' : 'PASSBACK_PLATFORM_REJECTED', details)
}

const MAX_TEXT = 200

/** The start of a response body as one line of printable text (platform error messages, DRF field errors). */
export function platformText (body: Uint8Array): string | undefined {
  if (body.byteLength === 0) return undefined
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, 4 * MAX_TEXT)).toString('utf8')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim()
  if (text === '') return undefined
  return text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '…' : text
}

function hostOf (url: string): string {
  try {
    return new URL(url).host
  } catch {
    return ''
  }
}
