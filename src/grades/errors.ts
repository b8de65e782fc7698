import { AppError, registerErrors } from '../errors.js'

/**
 * Why a decoded score change could not be turned into passback jobs. As for EVENT_* codes, what
 * matters to the consumer is the disposition: `dead-letter` (the same event fails the same way
 * forever: park it with its offset and move on) or `retry` (the failure is outside the event: keep
 * the offset unresolved, pause the partition, try again after a backoff).
 */
export const GradesError = registerErrors({
  GRADES_CONTENT_MISMATCH: [422, 'The usage key of the score event does not belong to its course.'],
  GRADES_UNKNOWN_COURSE: [422, 'The LMS does not know the course of the score event.'],
  GRADES_UNKNOWN_BLOCK: [422, 'The block of the score event is not in its course.'],
  GRADES_LMS_UNAVAILABLE: [503, 'The LMS could not be asked for the course structure or grades right now.'],
  GRADES_LMS_NOT_CONFIGURED: [503, 'LMS_URL, LMS_CLIENT_ID and LMS_CLIENT_SECRET are needed to compute this score.'],
  GRADES_BAD_COURSE_KEY: [400, 'The course id is not a course-v1 key.'],
  GRADES_RESYNC_INCOMPLETE: [503, 'Some launches of the course could not be resynced; the others were queued.']
})

export type GradesErrorCode = keyof typeof GradesError.codes

export const GRADES_ERROR_DISPOSITION = {
  GRADES_CONTENT_MISMATCH: 'dead-letter',
  GRADES_UNKNOWN_COURSE: 'dead-letter',
  GRADES_UNKNOWN_BLOCK: 'dead-letter',
  GRADES_LMS_UNAVAILABLE: 'retry',
  GRADES_LMS_NOT_CONFIGURED: 'retry',
  // Resync (operator) codes, never an event's: listed for completeness.
  GRADES_BAD_COURSE_KEY: 'dead-letter',
  GRADES_RESYNC_INCOMPLETE: 'retry'
} as const satisfies Record<GradesErrorCode, 'dead-letter' | 'retry'>

export function isGradesError (err: unknown): err is AppError & { code: GradesErrorCode } {
  return err instanceof AppError && Object.hasOwn(GRADES_ERROR_DISPOSITION, err.code)
}

export function isPermanentGradesError (err: unknown): boolean {
  return isGradesError(err) && GRADES_ERROR_DISPOSITION[err.code] === 'dead-letter'
}

/**
 * LMS client failures seen while reading structure or grades. Only an invalid key is about the
 * event itself; everything else (down, throttled, refused credentials, a proxy's error page) is
 * the LMS's state and worth retrying.
 */
export function fromLmsError (err: unknown, details: Record<string, unknown>): AppError {
  if (isGradesError(err)) return err
  const code = err instanceof AppError ? err.code : undefined
  if (code === 'LMS_CONTENT_KEY_INVALID') return GradesError('GRADES_CONTENT_MISMATCH', { ...details, lmsCode: code }, { cause: err })
  const reason = err instanceof Error ? err.message : String(err)
  return GradesError('GRADES_LMS_UNAVAILABLE', { ...details, lmsCode: code, reason: reason.slice(0, 200) }, { cause: err })
}
