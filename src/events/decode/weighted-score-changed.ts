import { EventError } from '../errors.js'
import { isoformatToEpochMicros } from './python-isoformat.js'

/**
 * `problem_score` of the CloudEvent (event-bus.md §3.2), field names as on the wire.
 * `user_id` is an Avro long: avsc returns a JS number and refuses (EVENT_BAD_PAYLOAD) anything past
 * 2^53. `["null", T]` fields come back as plain `null` or `T`.
 */
export interface WeightedScoreChanged {
  user_id: number
  course_id: string
  usage_id: string
  weighted_earned: number
  weighted_possible: number
  /** Python isoformat string as sent, e.g. `2024-05-01T12:00:00.123456+00:00`. */
  modified: string
  /** `csm` or `submissions` (event-bus.md §1). */
  score_db_table: string
  score_deleted: boolean
  anonymous_user_id: string | null
  /** Informational: the LMS already applied it. */
  only_if_higher: boolean | null
}

/** The event plus what we derive from it for ordering. */
export interface WeightedScoreChangedFacts {
  event: WeightedScoreChanged
  /** `modified` as integer epoch microseconds: compare with this, never with `Date`. */
  modifiedEpochMicros: number
}

interface DecodedRecord {
  problem_score: WeightedScoreChanged
}

/** Copies the avsc record into a plain object and checks what Avro types cannot. Throws EVENT_BAD_FIELD. */
export function toWeightedScoreChanged (record: unknown): WeightedScoreChangedFacts {
  const score = (record as DecodedRecord).problem_score
  const event: WeightedScoreChanged = {
    user_id: score.user_id,
    course_id: score.course_id,
    usage_id: score.usage_id,
    weighted_earned: score.weighted_earned,
    weighted_possible: score.weighted_possible,
    modified: score.modified,
    score_db_table: score.score_db_table,
    score_deleted: score.score_deleted,
    anonymous_user_id: score.anonymous_user_id,
    only_if_higher: score.only_if_higher
  }
  // Avro doubles can carry NaN and infinities; a score made of them is meaningless.
  for (const field of ['weighted_earned', 'weighted_possible'] as const) {
    if (!Number.isFinite(event[field])) throw EventError('EVENT_BAD_FIELD', { field, reason: 'not a finite number' })
  }
  const modifiedEpochMicros = isoformatToEpochMicros(event.modified)
  if (modifiedEpochMicros === undefined) {
    throw EventError('EVENT_BAD_FIELD', { field: 'modified', reason: 'not an isoformat datetime' })
  }
  return { event, modifiedEpochMicros }
}

/** The CloudEvent record to hand to avsc's encoder (fields in schema order). */
export function toCloudEventRecord (event: WeightedScoreChanged): DecodedRecord {
  return {
    problem_score: {
      user_id: event.user_id,
      course_id: event.course_id,
      usage_id: event.usage_id,
      weighted_earned: event.weighted_earned,
      weighted_possible: event.weighted_possible,
      modified: event.modified,
      score_db_table: event.score_db_table,
      score_deleted: event.score_deleted,
      anonymous_user_id: event.anonymous_user_id ?? null,
      only_if_higher: event.only_if_higher ?? null
    }
  }
}
