/** Error codes of the admin API and CLI (both call the same services, so both show these codes). */
import { registerErrors } from '../errors.js'

export const AdminErrors = registerErrors({
  ADMIN_INVALID_FIELDS: [400, 'Some fields are not valid.'],
  ADMIN_NOT_FOUND: [404, 'No such object.'],
  ADMIN_DUPLICATE_CONSUMER_KEY: [409, 'An LTI 1.1 consumer with this key already exists.'],
  ADMIN_DUPLICATE_REGISTRATION: [409, 'An LTI 1.3 registration with this issuer and client id already exists.'],
  ADMIN_DUPLICATE_DEPLOYMENT: [409, 'This deployment id is already listed for the registration.'],
  ADMIN_PASSBACK_NOT_RETRYABLE: [409, 'Only failed or dead grade passbacks can be retried.'],
  ADMIN_PASSBACK_STALE: [409, 'A newer score exists for the same target; retry that job instead.']
})

/** One invalid input field, in the shape the root error handler gives Ajv failures. */
export interface FieldProblem { field: string, message: string }

export function invalidFields (fields: FieldProblem[]) {
  return AdminErrors('ADMIN_INVALID_FIELDS', { fields })
}

export function notFound (resource: string, id: number | string) {
  return AdminErrors('ADMIN_NOT_FOUND', { resource, id: String(id) }, { message: `No ${resource} with id ${String(id)}.` })
}
