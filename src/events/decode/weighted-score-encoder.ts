import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { weightedScoreType } from './bundled-schema.js'
import { writeConfluentFrame } from './confluent-frame.js'
import { encodeEventKey } from './event-key.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from './event-type.js'
import type { OpenEdxHeaderName } from './open-edx-headers.js'
import { toPythonIsoformat } from './python-isoformat.js'
import { toCloudEventRecord, type WeightedScoreChanged } from './weighted-score-changed.js'

/** The per-message metadata headers; the three constant ones are always `1.0` / `application/avro`. */
export interface EventMetadata {
  ce_id: string
  ce_time: string
  ce_source: string
  ce_minorversion: string
  sourcehost: string
  sourcelib: string
}

export interface WeightedScoreEncoderOptions {
  eventType?: string | undefined
  /** Registry ids the value and key frames carry. */
  valueSchemaId: number
  keySchemaId: number
}

/** A record as the LMS's edx-event-bus-kafka producer writes it (event-bus.md §4). */
export interface EncodedEventMessage {
  key: Buffer
  value: Buffer
  /** All ten headers, UTF-8, in the producer's order (kafkajs keeps object key order on the wire). */
  headers: Record<OpenEdxHeaderName, Buffer>
}

export interface WeightedScoreEncoder {
  encode: (event: WeightedScoreChanged, metadata: EventMetadata) => EncodedEventMessage
}

/** openedx-events version whose behaviour event-bus.md describes. */
export const OPEN_EDX_EVENTS_VERSION = '11.2.0'

/**
 * Metadata as the LMS would stamp it now; for tests, the demo and the bench. Upstream uses a time
 * based UUID1 for `ce_id`; a random UUID serves the same purpose (unique per event) for us.
 */
export function newEventMetadata (overrides: Partial<EventMetadata> & { now?: Date } = {}): EventMetadata {
  const { now, ...rest } = overrides
  return {
    ce_id: randomUUID(),
    ce_time: toPythonIsoformat(now ?? new Date()),
    ce_source: 'openedx/lms/web',
    ce_minorversion: '0',
    sourcehost: hostname(),
    sourcelib: OPEN_EDX_EVENTS_VERSION,
    ...rest
  }
}

/** Throws avsc's error when the event does not fit the schema (e.g. a fractional user_id). */
export function createWeightedScoreEncoder (options: WeightedScoreEncoderOptions): WeightedScoreEncoder {
  const eventType = options.eventType ?? WEIGHTED_SCORE_CHANGED_EVENT_TYPE
  const type = weightedScoreType(eventType)
  const utf8 = (text: string) => Buffer.from(text, 'utf8')
  return {
    encode (event, metadata) {
      const value = writeConfluentFrame(options.valueSchemaId, type.toBuffer(toCloudEventRecord(event)))
      const key = encodeEventKey(event.user_id, options.keySchemaId)
      const headers: Record<OpenEdxHeaderName, Buffer> = {
        ce_specversion: utf8('1.0'),
        'content-type': utf8('application/avro'),
        ce_datacontenttype: utf8('application/avro'),
        ce_type: utf8(eventType),
        ce_id: utf8(metadata.ce_id),
        ce_source: utf8(metadata.ce_source),
        ce_time: utf8(metadata.ce_time),
        ce_minorversion: utf8(metadata.ce_minorversion),
        sourcehost: utf8(metadata.sourcehost),
        sourcelib: utf8(metadata.sourcelib)
      }
      return { key, value, headers }
    }
  }
}
