import { registerErrors } from '../errors.js'

/** Codes of the launch service shared by LTI 1.1 and 1.3 (after the protocol checks passed). */
export const launchError = registerErrors({
  LAUNCH_LMS_NOT_CONFIGURED: [503, 'This service is not connected to its Open edX LMS yet (LMS_URL is not set).'],
  LAUNCH_ACCOUNT_LINK_REQUIRED: [403, 'Your account on Open edX must be linked before you can open this content. Ask your course support team to link your account; they will need the reference below.'],
  LAUNCH_OUTCOME_HOST_NOT_ALLOWED: [403, 'This launch asks for grades to be sent to an address this tool is not allowed to use.'],
  LAUNCH_OUTCOME_URL_INVALID: [400, 'The grade return address of this launch is not a valid https URL.'],
  LAUNCH_ACCOUNT_UNAVAILABLE: [503, 'Your account on Open edX could not be prepared. Please try again in a moment.'],
  LAUNCH_CONSUMER_INACTIVE: [403, 'This LTI consumer is disabled.'],
  LAUNCH_CONSUMER_REMOVED: [403, 'This LTI consumer was removed while the content was being opened.'],
  LAUNCH_REGISTRATION_REMOVED: [403, 'This LTI 1.3 registration or deployment was removed while the content was being opened.']
})
