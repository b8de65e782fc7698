/**
 * The one refusal of both abuse limits: HTTP 429 with the stable code RATE_LIMITED and a
 * Retry-After the root error handler writes from `details.retryAfterSeconds`, so a flood from one
 * address and a consumer over its budget look alike to the browser and to an API client.
 *
 * The code is not declared through registerErrors: RATE_LIMITED already belongs to the root error
 * handler's own codes (scripts/error-catalog.ts HANDLER_CODES, docs/troubleshooting.md), and the
 * catalog requires every code to be declared once.
 */
import { AppError } from '../errors.js'

/** Which budget ran out: the client address, or the LTI 1.1 consumer / LTI 1.3 registration. */
export type LimitKind = 'ip' | 'consumer'

export const RATE_LIMITED_MESSAGE = 'Too many requests; try again shortly.'

/**
 * `extra` names the budget for operators (e.g. `{ protocol: 'lti11', consumerId: 3 }`); never a
 * key, secret or address (the request's log line already carries the address).
 */
export function rateLimitedError (limit: LimitKind, retryAfterSeconds: number, extra: Record<string, string | number> = {}): AppError {
  // At least one second: "Retry-After: 0" invites an immediate retry into the same full window.
  return new AppError('RATE_LIMITED', 429, RATE_LIMITED_MESSAGE, { limit, ...extra, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) })
}
