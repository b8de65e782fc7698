/**
 * When a launch's write transaction runs again, the same rule for LTI 1.1 and 1.3.
 *
 * Two first launches of the same learner collide on the mapping's unique key; on InnoDB one of
 * them may instead be picked as a deadlock victim (both hold a shared lock on a parent row from the
 * foreign key check, and one then needs it exclusively). Both mean "another launch got there
 * first": the launch reads that launch's mapping and writes again on it.
 */
import { isDeadlock, isUniqueViolation } from '../db/connection.js'

/** Three rounds at most: a deadlock victim may find the winner not yet committed and collide once more. */
export const LAUNCH_WRITE_ROUNDS = 3

export function isLaunchWriteConflict (err: unknown): boolean {
  return isUniqueViolation(err) || isDeadlock(err)
}
