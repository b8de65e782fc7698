import { registerErrors } from '../errors.js'

/**
 * Codes of the Open edX LMS REST client (docs: openedx-rest.md §9). A launch that hits one of them
 * answers with its status; the 503s say "the LMS side is not usable right now or is misconfigured",
 * which is what the learner and the operator need to know.
 */
export const lmsError = registerErrors({
  LMS_UNAVAILABLE: [503, 'Open edX is not reachable right now. Please try again in a moment.'],
  LMS_RATE_LIMITED: [503, 'Open edX is busy. Please try again in a moment.'],
  LMS_AUTH_FAILED: [503, 'The service could not authenticate to Open edX.'],
  LMS_PERMISSION_DENIED: [503, 'The service account lacks the permissions it needs on Open edX.'],
  LMS_BAD_RESPONSE: [502, 'Open edX answered in an unexpected way.'],
  LMS_USER_CONFLICT: [409, 'An account with this username or email already exists on Open edX.'],
  LMS_REGISTRATION_INVALID: [502, 'Open edX refused the account details.'],
  LMS_REGISTRATION_RATE_LIMITED: [503, 'Open edX is not accepting new accounts from this service right now.'],
  LMS_REGISTRATION_FORBIDDEN: [503, 'Open edX does not allow this service to create accounts.'],
  LMS_EMAIL_RETIRED: [409, 'This email address belonged to a deleted account and cannot be reused.'],
  LMS_USER_NOT_FOUND: [404, 'The account does not exist on Open edX.'],
  LMS_ENROLLMENT_REFUSED: [403, 'Open edX refused the enrollment in this course.'],
  LMS_CONTENT_KEY_INVALID: [400, 'The course or content identifier is not valid.'],
})

export type LmsErrorCode = keyof typeof lmsError.codes
