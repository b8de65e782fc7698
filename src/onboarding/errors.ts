/**
 * Codes of onboarding: registration invites and LTI Dynamic Registration. A platform admin sees
 * them on the registration page (with a reference to quote), an operator in the log line.
 */
import { registerErrors } from '../errors.js'

export const DrErrors = registerErrors({
  DR_BAD_REQUEST: [400, 'The registration link is incomplete: it needs the invite and the platform\'s openid_configuration.'],
  DR_INVITE_UNKNOWN: [403, 'This registration invite is not valid. Ask the Open edX administrator for a new one.'],
  DR_INVITE_USED: [410, 'This registration invite has already been used. Ask the Open edX administrator for a new one.'],
  DR_INVITE_EXPIRED: [410, 'This registration invite has expired. Ask the Open edX administrator for a new one.'],
  DR_CONFIG_FETCH_FAILED: [502, 'The platform\'s OpenID configuration could not be fetched.'],
  DR_CONFIG_NOT_JSON: [502, 'The platform\'s OpenID configuration is not JSON.'],
  DR_CONFIG_INVALID: [502, 'The platform\'s OpenID configuration lacks a required field or has an unusable value.'],
  DR_ISSUER_MISMATCH: [502, 'The platform\'s issuer does not match the address its configuration came from.'],
  DR_ENDPOINT_NOT_ALLOWED: [502, 'A platform endpoint is on a host this invite does not allow.'],
  DR_REGISTRATION_FAILED: [502, 'The platform\'s registration endpoint could not be reached.'],
  DR_REGISTRATION_REFUSED: [502, 'The platform refused the registration.'],
  DR_REGISTRATION_NOT_JSON: [502, 'The platform\'s registration answer is not JSON.'],
  DR_REGISTRATION_INVALID: [502, 'The platform\'s registration answer has no usable client_id.'],
  DR_ALREADY_REGISTERED: [409, 'This platform already has a registration with the client id it returned.']
})

export type DrErrorCode = keyof typeof DrErrors.codes
