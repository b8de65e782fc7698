/**
 * The grade outbox's vocabulary and shapes, as the grade pipeline, the delivery worker and the
 * admin API speak of them. The queries that read and write them live in src/db/outbox/; the HTTP
 * schemas take the status lists from here, never from a repository.
 */

export const PassbackStatuses = ['pending', 'delivering', 'delivered', 'failed', 'dead', 'superseded'] as const
export type PassbackStatus = typeof PassbackStatuses[number]

/** The states an admin may send back to `pending`. */
export const RetryableStatuses = ['failed', 'dead'] as const satisfies readonly PassbackStatus[]
export type RetryableStatus = typeof RetryableStatuses[number]

/** leaf: the launch was on the problem; unit/subsection: composites computed when due; resync: operator. */
export type PassbackMethod = 'leaf' | 'unit' | 'subsection' | 'resync'

export type TargetKind = 'lti11' | 'lti13'

/**
 * Where a score goes: an LTI 1.1 `graded_assignments` row (through its outcome service) or an
 * LTI 1.3 `graded_resources` row (through its AGS line item), one shape because a score change
 * feeds both the same way.
 */
export interface GradedTarget {
  /** `a:<graded_assignments.id>` or `r:<graded_resources.id>`. */
  targetKey: string
  kind: TargetKind
  id: number
  lmsUserId: number
  lmsUsername: string
  courseKey: string
  usageKey: string
  versionNumber: number
  /** LTI 1.1 outcome service URL or LTI 1.3 line item URL: where the score goes. */
  platformUrl: string
}

/** The key the outbox is unique on with the version: `a:<assignment id>` or `r:<resource id>`. */
export function targetKeyOf (kind: TargetKind, id: number): string {
  return `${kind === 'lti11' ? 'a' : 'r'}:${id}`
}

export function parseTargetKey (targetKey: string): { kind: TargetKind, id: number } | undefined {
  const m = /^([ar]):([1-9][0-9]{0,15})$/.exec(targetKey)
  if (m === null) return undefined
  return { kind: m[1] === 'a' ? 'lti11' : 'lti13', id: Number(m[2]) }
}

/** A job a score change or a resync queues. */
export interface NewPassbackJob {
  kind: TargetKind
  gradedAssignmentId: number | null
  gradedResourceId: number | null
  targetKey: string
  version: number
  method: PassbackMethod
  /** null: a composite, computed by the delivery side when due. */
  scoreGiven: number | null
  scoreMaximum: number | null
  /** The change's time in epoch µs (the event's `modified`): the AGS timestamp, stable across retries. */
  eventTimeUs: number
  ceId: string | null
  platformHost: string
  dueAt: number
}

/** What the worker's claim sees of a due job, to choose which to take (per-host slots, one per target). */
export interface ClaimCandidate {
  id: number
  targetKey: string
  platformHost: string
  version: number
}

/** A job the worker holds under its lease. */
export interface ClaimedJob {
  id: number
  kind: TargetKind
  gradedAssignmentId: number | null
  gradedResourceId: number | null
  targetKey: string
  version: number
  method: string
  scoreGiven: number | null
  scoreMaximum: number | null
  eventTimeUs: number
  platformHost: string
  /** Attempts including this one. */
  attempts: number
  dueAt: number
  leaseUntil: number
}

/** What delivering to an LTI 1.1 outcome service needs, read when the job is sent. */
export interface Lti11Target {
  assignmentId: number
  versionNumber: number
  sourcedId: string
  outcomeUrl: string
  lmsUserId: number
  lmsUsername: string
  courseKey: string
  usageKey: string
  consumer: { id: number, consumerKey: string, secretEnc: string, outcomeHosts: string[], active: boolean }
}

/** What delivering to an LTI 1.3 AGS line item needs, read when the job is sent. */
export interface Lti13Target {
  resourceId: number
  versionNumber: number
  lineitemUrl: string
  /** AGS scopes the launch granted. */
  scopes: string[]
  sub: string
  lmsUserId: number
  lmsUsername: string
  courseKey: string
  usageKey: string
  registration: {
    id: number
    clientId: string
    issuer: string
    authTokenUrl: string
    authTokenAudience: string | null
    allowedHosts: string[]
    active: boolean
  }
}

/** A score computed when the job was sent (composites), stored on the job row. */
export interface ScoreUpdate { scoreGiven: number, scoreMaximum: number }

/** A job as the admin sees it, with the consumer or registration it belongs to. */
export interface PassbackJob {
  id: number
  kind: TargetKind
  status: PassbackStatus
  targetKey: string
  version: number
  method: string
  scoreGiven: number | null
  scoreMaximum: number | null
  platformHost: string
  attempts: number
  lastError: string | null
  dueAt: number
  deliveredAt: number | null
  createdAt: number
  updatedAt: number
  /** The LTI 1.1 consumer (through graded_assignments → outcome_services), if any. */
  consumerId: number | null
  /** The LTI 1.3 registration (through graded_resources → lti_profiles), if any. */
  registrationId: number | null
  courseKey: string | null
  usageKey: string | null
}

export interface PassbackFilter {
  status?: PassbackStatus | undefined
  consumerId?: number | undefined
  registrationId?: number | undefined
  /** Cursor: only ids below this one (the list runs newest first). */
  before?: number | undefined
}

/** Limits a bulk admin action to one consumer's or one registration's jobs. */
export interface RetryScope { consumerId?: number | undefined, registrationId?: number | undefined }
