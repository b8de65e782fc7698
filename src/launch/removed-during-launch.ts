/**
 * A launch that races an admin's removal of its consumer, registration or deployment: the rows it
 * writes (nonce, identity map, deployment, profile, outcome target) name a parent that is gone, and
 * the database refuses them. That is a refusal with its own code, not an internal error.
 */
import { isForeignKeyViolation } from '../db/foreign-key-violation.js'
import { launchError } from './errors.js'

export async function refuseIfRemovedDuringLaunch<T> (
  code: 'LAUNCH_CONSUMER_REMOVED' | 'LAUNCH_REGISTRATION_REMOVED',
  run: () => Promise<T>
): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (isForeignKeyViolation(err)) throw launchError(code, undefined, { cause: err })
    throw err
  }
}
