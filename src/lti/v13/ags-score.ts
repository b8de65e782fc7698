import { MediaType } from '../claims.js'
import { lti13Error } from './errors.js'

/**
 * AGS score publish (wire-formats.md §7): camelCase keys and string values on the wire, and the
 * timestamp of the *event*, stable across retries, so a platform that keeps only newer scores
 * never lets a retried old score win (ltijs overwrote it with "now": lti-checklist.md §2 #18).
 */

export const ActivityProgress = {
  initiated: 'Initiated',
  started: 'Started',
  inProgress: 'InProgress',
  submitted: 'Submitted',
  completed: 'Completed'
} as const
export type ActivityProgress = typeof ActivityProgress[keyof typeof ActivityProgress]

export const GradingProgress = {
  fullyGraded: 'FullyGraded',
  pending: 'Pending',
  pendingManual: 'PendingManual',
  failed: 'Failed',
  notReady: 'NotReady'
} as const
export type GradingProgress = typeof GradingProgress[keyof typeof GradingProgress]

export const SCORE_CONTENT_TYPE = MediaType.agsScore

export interface AgsScore {
  userId: string
  scoreGiven: number
  scoreMaximum: number
  comment?: string
  timestamp: string
  activityProgress: ActivityProgress
  gradingProgress: GradingProgress
}

export interface ScoreInput {
  /** The learner's LTI `sub`. */
  userId: string
  scoreGiven: number
  scoreMaximum: number
  /** When the score changed in the LMS (the event time), not when we send it. */
  eventTime: Date
  comment?: string | undefined
  activityProgress?: ActivityProgress | undefined
  gradingProgress?: GradingProgress | undefined
}

/**
 * ISO 8601 with millisecond precision and an explicit `+00:00` offset (the form of the spec
 * example; some parsers, e.g. Python's fromisoformat before 3.11, refuse `Z`).
 */
export function scoreTimestamp (time: Date): string {
  if (Number.isNaN(time.getTime())) throw lti13Error('LTI13_INVALID_SCORE', { field: 'timestamp' })
  return time.toISOString().replace(/Z$/, '+00:00')
}

export function buildScore (input: ScoreInput): AgsScore {
  if (typeof input.userId !== 'string' || input.userId === '') throw lti13Error('LTI13_INVALID_SCORE', { field: 'userId' })
  if (!Number.isFinite(input.scoreGiven) || input.scoreGiven < 0) throw lti13Error('LTI13_INVALID_SCORE', { field: 'scoreGiven' })
  if (!Number.isFinite(input.scoreMaximum) || input.scoreMaximum <= 0) throw lti13Error('LTI13_INVALID_SCORE', { field: 'scoreMaximum' })
  // Key order of the AGS specification's example, so logs and fixtures read the same.
  return {
    userId: input.userId,
    scoreGiven: input.scoreGiven,
    scoreMaximum: input.scoreMaximum,
    ...(input.comment === undefined ? {} : { comment: input.comment }),
    timestamp: scoreTimestamp(input.eventTime),
    activityProgress: input.activityProgress ?? ActivityProgress.completed,
    gradingProgress: input.gradingProgress ?? GradingProgress.fullyGraded
  }
}

/**
 * The scores endpoint of a line item: `/scores` appended to the PATH, query kept
 * (`…/lineitem?type_id=1` → `…/lineitem/scores?type_id=1`, Moodle), fragment dropped.
 */
export function scoresUrl (lineitemUrl: string): string {
  const url = new URL(lineitemUrl)
  url.hash = ''
  url.pathname = url.pathname.replace(/\/+$/, '') + '/scores'
  return url.href
}
