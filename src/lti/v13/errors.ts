import { registerErrors } from '../../errors.js'

/**
 * Every refusal of the LTI 1.3 core, one stable code each. 400: the request is malformed or not
 * a launch we handle; 401: the token does not authenticate; 403: authenticated-looking but refused
 * by policy (wrong browser, unknown deployment…); 5xx: our side or the platform's JWKS failed.
 * Messages are safe to show to a learner; facts for admins go in `details`, never the token.
 */
export const lti13Error = registerErrors({
  LTI13_LOGIN_MISSING_PARAM: [400, 'The LTI 1.3 login request is missing a required parameter.'],
  LTI13_LOGIN_INVALID_PARAM: [400, 'The LTI 1.3 login request has an invalid parameter.'],
  LTI13_UNKNOWN_REGISTRATION: [403, 'This platform is not registered with the tool.'],
  LTI13_AMBIGUOUS_REGISTRATION: [400, 'Several registrations match this platform: the login must name its client_id or a known deployment.'],
  LTI13_REGISTRATION_INACTIVE: [403, 'This platform registration is not active.'],
  LTI13_REGISTRATION_MISMATCH: [400, 'The launch does not belong to the login that started it.'],

  LTI13_STATE_MISSING: [400, 'The launch has no state: start it again from the platform.'],
  LTI13_STATE_INVALID: [400, 'The launch state is not valid: start it again from the platform.'],
  LTI13_STATE_EXPIRED: [400, 'The launch took too long: start it again from the platform.'],
  LTI13_STATE_REPLAYED: [400, 'This launch was already used: start it again from the platform.'],
  LTI13_STATE_WRONG_BROWSER: [403, 'The launch did not come back to the browser that started it. Allow cookies for this site or open the tool in a new window.'],

  LTI13_TOKEN_MISSING: [400, 'The launch has no id_token.'],
  LTI13_TOKEN_MALFORMED: [400, 'The launch id_token is malformed.'],
  LTI13_ALG_NOT_ALLOWED: [401, 'The launch id_token is signed with an algorithm this registration does not allow.'],
  LTI13_UNKNOWN_KID: [401, 'The launch id_token is signed with a key the platform does not publish.'],
  LTI13_BAD_SIGNATURE: [401, 'The launch id_token signature is not valid.'],
  LTI13_JWKS_UNAVAILABLE: [502, 'The platform keys could not be fetched; try again shortly.'],
  LTI13_WRONG_ISSUER: [401, 'The launch id_token comes from another issuer.'],
  LTI13_WRONG_AUDIENCE: [401, 'The launch id_token is not addressed to this tool.'],
  LTI13_BAD_AZP: [401, 'The launch id_token authorized party is not this tool.'],
  LTI13_TOKEN_EXPIRED: [401, 'The launch id_token has expired: start it again from the platform.'],
  LTI13_TOKEN_FROM_FUTURE: [401, 'The launch id_token is dated in the future; check the platform clock.'],
  LTI13_TOKEN_TOO_OLD: [401, 'The launch id_token is too old: start it again from the platform.'],
  LTI13_NONCE_MISMATCH: [401, 'The launch id_token does not answer this login.'],

  LTI13_UNKNOWN_DEPLOYMENT: [403, 'This deployment of the tool is not known for this platform.'],
  LTI13_BAD_VERSION: [400, 'Only LTI version 1.3.0 launches are supported.'],
  LTI13_BAD_MESSAGE_TYPE: [400, 'This LTI message type is not supported.'],
  LTI13_DEEP_LINKING_TYPES_NOT_ACCEPTED: [400, 'The platform does not accept LTI resource links in this content selection (accept_types lacks ltiResourceLink).'],
  LTI13_WRONG_MESSAGE_TARGET: [400, 'This launch address is for content selection (Deep Linking) only, or the selection was sent to a content address.'],
  LTI13_MISSING_CLAIM: [400, 'The launch is missing a required LTI claim.'],
  LTI13_INVALID_CLAIM: [400, 'The launch has an LTI claim with an invalid value.'],
  LTI13_BAD_TARGET_LINK_URI: [400, 'The launch does not name content of this tool.'],
  LTI13_ANONYMOUS_NOT_ALLOWED: [403, 'Anonymous launches are not allowed for this platform.'],

  LTI13_LTI1P1_CLAIM_INCOMPLETE: [400, 'The LTI 1.1 migration claim is incomplete.'],
  LTI13_LTI1P1_BAD_SIGNATURE: [401, 'The LTI 1.1 migration claim signature is not valid.'],

  LTI13_INVALID_SCORE: [500, 'An AGS score could not be built from the given values.'],
  LTI13_TOKEN_RESPONSE_INVALID: [502, 'The platform token endpoint answered with an invalid response.']
})

export type Lti13ErrorCode = keyof typeof lti13Error.codes
