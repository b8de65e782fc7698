import { registerErrors } from '../../../errors.js'

/** Refusals of the Deep Linking content selection (picker pages and their form posts). */
export const deepLinkingError = registerErrors({
  DEEP_LINKING_ROLE_NOT_ALLOWED: [403, 'Only instructors, teaching assistants, content developers and administrators of the course can select content. Ask one of them to add the activity.'],
  DEEP_LINKING_RETURN_URL_NOT_ALLOWED: [403, 'The platform asked for the selection to be sent to an address this tool is not allowed to use. Ask the tool administrator to check the platform registration.'],
  DEEP_LINKING_SELECTION_INVALID: [400, 'This content selection is not valid: start it again from your course.'],
  DEEP_LINKING_SELECTION_EXPIRED: [400, 'This content selection has expired or was already sent: start it again from your course.'],
  DEEP_LINKING_BAD_CHOICE: [400, 'The chosen content cannot be added: choose again from the list.'],
  DEEP_LINKING_TOO_MANY_ITEMS: [400, 'The platform accepts only one item here: choose one.'],
  DEEP_LINKING_LMS_UNAVAILABLE: [503, 'The course list could not be read from Open edX right now. Please try again in a moment.']
})
