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
   * Resolves with a final outcome, or throws when the record must be retried later without
   * resolving its offset (registry or LMS unavailable, database errors, anything unexpected).
   */
  process: (message: ConsumedMessage) => Promise<ProcessResult>
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

  return {
    async process (message) {
      // Header triage first: foreign types cost no decode and no registry call.
      const triage = deps.decoder.classify(message.headers)
      if (triage.kind === 'other-type') return { outcome: 'other_type' }
      if (triage.kind === 'error') return deadLetter(message, triage.error, undefined)
      const ceId = triage.headers.ce_id

      let decoded
      try {
        decoded = await deps.decoder.decode(message)
      } catch (err) {
        if (isPermanent(err)) return deadLetter(message, err, ceId)
        throw err
      }
      if (decoded.kind === 'other-type') return { outcome: 'other_type' }

      const event = decoded.event
      if (!deps.relevantUsers.has(event.user_id)) return { outcome: 'irrelevant', ceId }

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
  }
}
