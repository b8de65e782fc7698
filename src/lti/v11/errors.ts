import { registerErrors } from '../../errors.js'

/**
 * Every refusal of the LTI 1.1 core, one stable code each. 400: the request is malformed or is not
 * a launch we handle; 401: it does not authenticate (signature, method, clock, replay, unknown key);
 * 422/500: our own outcome input or signer is wrong; 502: the platform's outcome service answered
 * with something we refuse to trust. Messages are safe to show to a learner; facts for admins go in
 * `details` (parameter names, skew seconds, never a secret, a signature or a base string).
 */
export const lti11Error = registerErrors({
  LTI11_MISSING_PARAM: [400, 'The LTI launch is missing a required parameter.'],
  LTI11_DUPLICATE_PARAM: [400, 'The LTI launch repeats a parameter that must appear only once.'],
  LTI11_MALFORMED_PARAM: [400, 'The LTI launch has a parameter in an invalid format.'],
  LTI11_BAD_MESSAGE_TYPE: [400, 'This LTI message type is not supported: only basic-lti-launch-request launches are.'],
  LTI11_BAD_VERSION: [400, 'This LTI version is not supported: only LTI-1p0 launches are.'],
  LTI11_BAD_OAUTH_VERSION: [400, 'The launch uses an OAuth version other than 1.0.'],

  LTI11_UNKNOWN_CONSUMER: [401, 'The launch consumer key is not known to this tool.'],
  LTI11_SIGNATURE_METHOD_NOT_ALLOWED: [401, 'The launch is signed with a method this tool does not accept.'],
  LTI11_STALE_TIMESTAMP: [401, 'The launch timestamp is too far from the current time; check the platform clock and launch again.'],
  LTI11_BAD_SIGNATURE: [401, 'The launch signature is not valid.'],
  LTI11_BAD_BODY_HASH: [401, 'The request body does not match its signed hash.'],
  LTI11_NONCE_REPLAYED: [401, 'This launch was already used: start it again from the platform.'],

  LTI11_BAD_OUTCOME_INPUT: [422, 'A grade message could not be built from the given values.'],

  LTI11_OUTCOME_RESPONSE_TOO_LARGE: [502, 'The platform grade service answered with a response that is too large.'],
  LTI11_OUTCOME_RESPONSE_DOCTYPE: [502, 'The platform grade service answered with a document type declaration, which is refused.'],
  LTI11_OUTCOME_RESPONSE_MALFORMED: [502, 'The platform grade service answered with an unreadable response.'],
  LTI11_OUTCOME_RESPONSE_BAD_NAMESPACE: [502, 'The platform grade service answered in an unexpected XML namespace.'],
  LTI11_OUTCOME_REJECTED: [502, 'The platform grade service did not accept the grade.']
})

export type Lti11ErrorCode = keyof typeof lti11Error.codes
