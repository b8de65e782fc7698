import type { Knex } from 'knex'
import { isAppError } from '../errors.js'
import { createOutboxWriter } from '../db/outbox/writer.js'
import { isCourseKey } from '../lms/opaque-keys.js'
import type { CompositeScoreMethod, CompositeScorer } from './composite-score.js'
import { GradesError } from './errors.js'
import type { GradedTarget } from './outbox-types.js'
import { leafScore, platformHostOf } from './passback-plan.js'

export interface ResyncedTarget {
  targetKey: string
  usageKey: string
  version: number
  scoreGiven: number
  scoreMaximum: number
  method: CompositeScoreMethod
  approximate: boolean
}

export interface ResyncFailure {
  targetKey: string
  usageKey: string
  code: string
  message: string
}

export interface ResyncResult {
  courseKey: string
  targets: number
  enqueued: ResyncedTarget[]
  failed: ResyncFailure[]
}

export interface CourseResyncOptions {
  knex: Knex
  scorer: CompositeScorer
  now?: () => number
}

/**
 * `grades resync --course`: the reconciliation path for events the bus lost (the LMS producer has no
 * outbox, event-bus.md §4.4). Every LTI 1.1 assignment and LTI 1.3 resource of the course gets its
 * current score recomputed from the LMS (the ledger where the LMS cannot say) and a job with a bumped
 * version, method `resync`, due now. One target failing (LMS down for it, block deleted) is reported
 * and the others go on.
 */
export async function resyncCourse (options: CourseResyncOptions, courseKey: string): Promise<ResyncResult> {
  if (!isCourseKey(courseKey)) throw GradesError('GRADES_BAD_COURSE_KEY', { courseKey })
  const now = options.now ?? Date.now
  const outbox = createOutboxWriter(options.knex)
  const result: ResyncResult = { courseKey, targets: 0, enqueued: [], failed: [] }

  async function enqueue (target: GradedTarget): Promise<ResyncedTarget> {
    const score = await options.scorer.computeComposite({
      lmsUserId: target.lmsUserId,
      lmsUsername: target.lmsUsername,
      courseKey,
      usageKey: target.usageKey
    })
    const { scoreGiven, scoreMaximum } = leafScore({ weightedEarned: score.earned, weightedPossible: score.possible, scoreDeleted: false })
    return options.knex.transaction(async trx => {
      const at = now()
      const versions = await outbox.bumpVersions([target], at, trx)
      const version = versions.get(target.targetKey)
      if (version === undefined) throw GradesError('GRADES_UNKNOWN_BLOCK', { targetKey: target.targetKey, reason: 'target deleted' })
      await outbox.insertJobs([{
        kind: target.kind,
        gradedAssignmentId: target.kind === 'lti11' ? target.id : null,
        gradedResourceId: target.kind === 'lti13' ? target.id : null,
        targetKey: target.targetKey,
        version,
        method: 'resync',
        scoreGiven,
        scoreMaximum,
        // Now, not an event time: platforms keep the score with the newest timestamp.
        eventTimeUs: at * 1000,
        ceId: null,
        platformHost: platformHostOf(target.platformUrl),
        dueAt: at
      }], at, trx)
      await outbox.supersedeOlder(target.targetKey, version, at, trx)
      return { targetKey: target.targetKey, usageKey: target.usageKey, version, scoreGiven, scoreMaximum, method: score.method, approximate: score.approximate }
    })
  }

  for (const target of await outbox.listTargetsForCourse(courseKey)) {
    result.targets++
    try {
      result.enqueued.push(await enqueue(target))
    } catch (err) {
      if (!isAppError(err)) throw err
      result.failed.push({ targetKey: target.targetKey, usageKey: target.usageKey, code: err.code, message: err.message })
    }
  }
  return result
}
