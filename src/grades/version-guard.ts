import type { Knex } from 'knex'
import { createGradedTargetsRepository } from '../db/repositories/graded-targets-repository.js'

/**
 * edx's composite guard (`send_composite_outcome`): a job is stale when its target has moved on to
 * a newer version (another score change or a resync came after it), or the target is gone.
 * The delivery side asks when a composite becomes due and again just before it sends, as edx does.
 */
export function isSupersededVersion (currentVersion: number | undefined, jobVersion: number): boolean {
  return currentVersion === undefined || currentVersion > jobVersion
}

export interface VersionGuard {
  isSuperseded: (job: { targetKey: string, version: number }, trx?: Knex.Transaction) => Promise<boolean>
}

export function createVersionGuard (knex: Knex): VersionGuard {
  const targets = createGradedTargetsRepository(knex)
  return {
    async isSuperseded (job, trx) {
      return isSupersededVersion(await targets.currentVersion(job.targetKey, trx), job.version)
    }
  }
}
