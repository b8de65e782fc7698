import type { AppError } from '../../errors.js'
import { EventError, isEventError } from '../errors.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from './event-type.js'

/**
 * Kafka record headers as kafkajs hands them over (`IHeaders`): one value per name, or an array when
 * the name occurs several times in the record. Values are raw bytes; Kafka allows null values.
 */
export type HeaderValue = Buffer | string | null | undefined
export type KafkaHeaders = Readonly<Record<string, HeaderValue | readonly HeaderValue[]>>

/** The ten headers of an Open edX event, in the order edx-event-bus-kafka writes them (event-bus.md §4.3). */
export const OPEN_EDX_HEADER_NAMES = [
  'ce_specversion',
  'content-type',
  'ce_datacontenttype',
  'ce_type',
  'ce_id',
  'ce_source',
  'ce_time',
  'ce_minorversion',
  'sourcehost',
  'sourcelib'
] as const
export type OpenEdxHeaderName = (typeof OPEN_EDX_HEADER_NAMES)[number]

/** Decoded header values (UTF-8). Only `ce_type` and `ce_id` are guaranteed, as upstream. */
export interface OpenEdxHeaders {
  ce_type: string
  /** Time-based UUID written by the LMS: our idempotency key. 1 to 128 printable ASCII characters. */
  ce_id: string
  ce_source: string | undefined
  /** Python `isoformat()` of a UTC-aware datetime, kept as sent (microsecond precision). */
  ce_time: string | undefined
  ce_minorversion: string | undefined
  sourcehost: string | undefined
  sourcelib: string | undefined
  ce_specversion: string | undefined
  'content-type': string | undefined
  ce_datacontenttype: string | undefined
}

export type MessageClassification =
  | { kind: 'ours', headers: OpenEdxHeaders }
  | { kind: 'other-type', eventType: string }
  | { kind: 'error', error: AppError }

// Upstream (edx_event_bus_kafka/internal/utils.py) refuses a second copy of every header that maps
// to EventsMetadata; the three constant headers are not read there, so a repeat of those is harmless.
const METADATA_HEADERS = ['ce_source', 'ce_time', 'ce_minorversion', 'sourcehost', 'sourcelib'] as const
const CONSTANT_HEADERS = ['ce_specversion', 'content-type', 'ce_datacontenttype'] as const
const CE_ID_PATTERN = /^[\x21-\x7e]{1,128}$/

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function valuesOf (headers: KafkaHeaders, name: string): readonly HeaderValue[] {
  if (!Object.hasOwn(headers, name)) return []
  const raw = headers[name]
  if (raw === undefined) return []
  return Array.isArray(raw) ? raw : [raw as HeaderValue]
}

function decodeValue (name: string, value: HeaderValue): string {
  if (value === null || value === undefined) {
    throw EventError('EVENT_BAD_HEADER', { header: name, reason: 'null value' })
  }
  if (typeof value === 'string') return value
  try {
    return utf8.decode(value)
  } catch (cause) {
    throw EventError('EVENT_BAD_HEADER', { header: name, reason: 'not UTF-8' }, { cause })
  }
}

function exactlyOnce (headers: KafkaHeaders, name: 'ce_type' | 'ce_id'): string {
  const values = valuesOf(headers, name)
  if (values.length === 0) throw EventError('EVENT_MISSING_HEADER', { header: name })
  if (values.length > 1) throw EventError('EVENT_DUPLICATE_HEADER', { header: name, count: values.length })
  return decodeValue(name, values[0])
}

function atMostOnce (headers: KafkaHeaders, name: string): string | undefined {
  const values = valuesOf(headers, name)
  if (values.length > 1) throw EventError('EVENT_DUPLICATE_HEADER', { header: name, count: values.length })
  return values.length === 0 ? undefined : decodeValue(name, values[0])
}

function firstIfUsable (headers: KafkaHeaders, name: string): string | undefined {
  const first = valuesOf(headers, name)[0]
  if (first === null || first === undefined) return undefined
  try {
    return decodeValue(name, first)
  } catch {
    return undefined
  }
}

/** Reads `ce_type` alone (exactly once, UTF-8). Throws an EVENT_* AppError. */
export function readEventType (headers: KafkaHeaders): string {
  return exactlyOnce(headers, 'ce_type')
}

/** Reads all ten headers with upstream's rules. Throws an EVENT_* AppError. */
export function parseOpenEdxHeaders (headers: KafkaHeaders): OpenEdxHeaders {
  const ceType = exactlyOnce(headers, 'ce_type')
  const ceId = exactlyOnce(headers, 'ce_id')
  if (!CE_ID_PATTERN.test(ceId)) {
    throw EventError('EVENT_BAD_HEADER', { header: 'ce_id', reason: 'not 1-128 printable ASCII characters' })
  }
  const parsed: OpenEdxHeaders = {
    ce_type: ceType,
    ce_id: ceId,
    ce_source: undefined,
    ce_time: undefined,
    ce_minorversion: undefined,
    sourcehost: undefined,
    sourcelib: undefined,
    ce_specversion: undefined,
    'content-type': undefined,
    ce_datacontenttype: undefined
  }
  for (const name of METADATA_HEADERS) parsed[name] = atMostOnce(headers, name)
  for (const name of CONSTANT_HEADERS) parsed[name] = firstIfUsable(headers, name)
  return parsed
}

/** `ce_type` alone: ours, another type, or unusable (missing, repeated, not UTF-8). */
export type EventTypeClassification =
  | { kind: 'ours' }
  | { kind: 'other-type', eventType: string }
  | { kind: 'error', error: AppError }

const OURS: EventTypeClassification = Object.freeze({ kind: 'ours' })

/**
 * The hot-path gate: most records on the topic are of our type, so one `ce_type` that is
 * byte-equal to `eventTypeBytes` is ours without decoding any header; anything else takes the
 * rules of readEventType (exactly once, UTF-8). The other headers are not looked at.
 */
export function classifyEventType (headers: KafkaHeaders, eventType: string, eventTypeBytes: Buffer): EventTypeClassification {
  const raw = Object.hasOwn(headers, 'ce_type') ? headers.ce_type : undefined
  if (Buffer.isBuffer(raw) && raw.length === eventTypeBytes.length && raw.equals(eventTypeBytes)) return OURS
  try {
    const ceType = readEventType(headers)
    return ceType === eventType ? OURS : { kind: 'other-type', eventType: ceType }
  } catch (error) {
    if (isEventError(error)) return { kind: 'error', error }
    throw error
  }
}

/**
 * The cheap gate run before anything touches the payload or the registry: topics carry several event
 * types, and some upstream type names even make avsc throw (event-bus.md §5). Only `ce_type` is read
 * for a foreign event; for ours, every header rule is applied so that a decode never starts on a
 * message that would be dead-lettered for its headers anyway.
 */
export function classifyMessage (headers: KafkaHeaders, eventType: string = WEIGHTED_SCORE_CHANGED_EVENT_TYPE): MessageClassification {
  try {
    const ceType = readEventType(headers)
    if (ceType !== eventType) return { kind: 'other-type', eventType: ceType }
    return { kind: 'ours', headers: parseOpenEdxHeaders(headers) }
  } catch (error) {
    if (isEventError(error)) return { kind: 'error', error }
    throw error
  }
}
