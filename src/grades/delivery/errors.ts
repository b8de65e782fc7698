import { registerErrors } from '../../errors.js'

/**
 * Why one grade delivery did not end in the platform's gradebook. These never reach a route: they
 * end up as `passbacks.last_error` (code first, then non-secret facts) and decide, through
 * retry-policy.ts, whether the job is tried again or marked dead. Statuses follow the outbound
 * client's convention (the remote side is the problem: 502/503), or 409/422 when the job itself is.
 */
export const PassbackError = registerErrors({
  PASSBACK_PLATFORM_REJECTED: [502, 'The platform refused the grade.'],
  PASSBACK_PLATFORM_UNAVAILABLE: [503, 'The platform could not take the grade right now.'],
  PASSBACK_TOKEN_REJECTED: [502, 'The platform refused to issue an access token for grades.'],
  PASSBACK_TOKEN_UNAVAILABLE: [503, 'The platform token endpoint could not issue a token right now.'],
  PASSBACK_TARGET_MISSING: [409, 'The launch this grade belongs to no longer exists or is incomplete.'],
  PASSBACK_PLATFORM_INACTIVE: [409, 'The consumer or registration of this grade is not active.'],
  PASSBACK_SCOPE_NOT_GRANTED: [409, 'The launch did not grant the AGS score scope, so no score may be posted.'],
  PASSBACK_SCORE_MISSING: [422, 'The job carries no score and none can be computed for it.'],
  PASSBACK_COMPOSITE_UNAVAILABLE: [503, 'Composite scores cannot be computed by this instance.']
})

export type PassbackErrorCode = keyof typeof PassbackError.codes
