import type { AppError } from '../../errors.js'
import type { DeadLetterInput } from '../../db/repositories/dead-letters-repository.js'
import { isPermanentGradesError } from '../../grades/errors.js'
import type { ScoreChangeRecorder } from '../../grades/score-change-recorder.js'
import type { KafkaHeaders } from '../decode/open-edx-headers.js'
import type { WeightedScoreDecoder } from '../decode/weighted-score-decoder.js'
import { isPermanentEventError } from '../errors.js'
import { storedHeaders } from './stored-headers.js'

/** A Kafka record with its position (kafkajs `KafkaMessage` plus topic and partition). */
export interface ConsumedMessage {
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers?: KafkaHeaders | undefined
}

/**
 * What became of one record; each is final (the offset may be resolved):
 * `other_type` another event type on the topic (headers only were read); `irrelevant` a learner who
 * never came through LTI (no query); `dead` parked in dead_letters; the rest as the recorder says.
 */
export const EVENT_OUTCOMES = ['other_type', 'irrelevant', 'queued', 'unmatched', 'stale', 'duplicate', 'other_context', 'dead'] as const
export type EventOutcome = typeof EVENT_OUTCOMES[number]

export interface ProcessResult {
  outcome: EventOutcome
  ceId?: string | undefined
  jobs?: number | undefined
  /** For `dead`: the error code stored with the dead letter. */
  errorCode?: string | undefined
}

export interface MessageProcessorDeps {
  decoder: WeightedScoreDecoder
  relevantUsers: { has: (lmsUserId: number) => boolean }
  recorder: ScoreChangeRecorder
  deadLetters: { record: (input: DeadLetterInput) => Promise<unknown> }
  now?: () => number
}

export interface MessageProcessor {
  /**
   * Settles a record with a final outcome, or throws / rejects when it must be retried later
   * without resolving its offset (registry or LMS unavailable, database errors, anything
   * unexpected). Returns synchronously when the record needed no I/O (`other_type`,
   * `irrelevant`): the batch handler keeps those on its fast path.
   */
  process: (message: ConsumedMessage) => ProcessResult | Promise<ProcessResult>
}

function describe (err: AppError): string {
  const details = err.details === undefined ? '' : ` ${JSON.stringify(err.details)}`
  return `${err.code}: ${err.message}${details}`
}

function isPermanent (err: unknown): err is AppError {
  return isPermanentEventError(err) || isPermanentGradesError(err)
}

export function createMessageProcessor (deps: MessageProcessorDeps): MessageProcessor {
  const now = deps.now ?? Date.now

  async function deadLetter (message: ConsumedMessage, err: AppError, ceId: string | undefined): Promise<ProcessResult> {
    await deps.deadLetters.record({
      topic: message.topic,
      partition: message.partition,
      offset: message.offset,
      key: message.key,
      headers: storedHeaders(message.headers),
      value: message.value,
      errorCode: err.code,
      error: describe(err),
      createdAt: now()
    })
    return { outcome: 'dead', ceId, errorCode: err.code }
  }

  const OTHER_TYPE: ProcessResult = Object.freeze({ outcome: 'other_type' })
  const IRRELEVANT: ProcessResult = Object.freeze({ outcome: 'irrelevant' })

  /** ce_id for a dead letter of a payload error, when the headers are usable. */
  function ceIdOf (message: ConsumedMessage): string | undefined {
    const triage = deps.decoder.classify(message.headers)
    return triage.kind === 'ours' ? triage.headers.ce_id : undefined
  }

  /**
   * The whole path, in the fast path's order: `ce_type`, then `user_id` (the writer schema fetched
   * from the registry if need be), then, for our learners only, every header rule, the whole record,
   * and the recorder.
   */
  async function processFully (message: ConsumedMessage, pendingUserId?: Promise<number>): Promise<ProcessResult> {
    const type = deps.decoder.classifyType(message.headers)
    if (type.kind === 'other-type') return OTHER_TYPE
    if (type.kind === 'error') return deadLetter(message, type.error, undefined)

    let userId: number
    try {
      userId = await (pendingUserId ?? deps.decoder.userIdOf(message.value))
    } catch (err) {
      if (isPermanent(err)) return deadLetter(message, err, ceIdOf(message))
      throw err
    }
    if (!deps.relevantUsers.has(userId)) return IRRELEVANT

    const triage = deps.decoder.classify(message.headers)
    if (triage.kind === 'error') return deadLetter(message, triage.error, undefined)
    if (triage.kind === 'other-type') return OTHER_TYPE
    const ceId = triage.headers.ce_id

    let decoded
    try {
      decoded = await deps.decoder.decode(message)
    } catch (err) {
      if (isPermanent(err)) return deadLetter(message, err, ceId)
      throw err
    }
    if (decoded.kind === 'other-type') return OTHER_TYPE

    const event = decoded.event
    try {
      const result = await deps.recorder.record({
        ceId,
        ceType: decoded.headers.ce_type,
        lmsUserId: event.user_id,
        courseKey: event.course_id,
        usageKey: event.usage_id,
        weightedEarned: event.weighted_earned,
        weightedPossible: event.weighted_possible,
        scoreDeleted: event.score_deleted,
        modifiedUs: decoded.modifiedEpochMicros
      })
      return { outcome: result.outcome, ceId, jobs: result.jobs }
    } catch (err) {
      if (isPermanent(err)) return deadLetter(message, err, ceId)
      throw err
    }
  }

  return {
    /**
     * Relevance first: most records are another learner's, and for them only `ce_type` and
     * `user_id` are read, synchronously. So a record of a learner who is not ours is `irrelevant`
     * even if its other headers or fields (ce_id, modified, a NaN score) are unusable: the dead-letter
     * table keeps what we would have acted on. A record whose frame or Avro body does not parse
     * (bad magic, truncated, unknown or unresolvable schema) has no trustworthy user id and is
     * dead-lettered whoever it concerns, as is one without a usable `ce_type`.
     */
    process (message) {
      const type = deps.decoder.classifyType(message.headers)
      if (type.kind === 'other-type') return OTHER_TYPE
      if (type.kind !== 'ours') return processFully(message)
      let userId: number | Promise<number>
      try {
        userId = deps.decoder.userIdOf(message.value)
      } catch {
        // Dead letter or retry: decided on the full path, which meets the same error again.
        return processFully(message)
      }
      // A schema id seen for the first time: its writer schema is being fetched.
      if (typeof userId !== 'number') return processFully(message, userId)
      return deps.relevantUsers.has(userId) ? processFully(message) : IRRELEVANT
    }
  }
}
