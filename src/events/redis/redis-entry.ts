import type { KafkaHeaders } from '../decode/open-edx-headers.js'
import type { ConsumedMessage } from '../consumer/message-processor.js'

/**
 * edx-event-bus-redis writes the CloudEvent metadata as plain field names (event-bus.md §9); the
 * pipeline reads them under their Kafka header names, so one set of header rules serves both buses.
 */
const FIELD_TO_HEADER: Readonly<Record<string, string>> = {
  type: 'ce_type',
  id: 'ce_id',
  source: 'ce_source',
  time: 'ce_time',
  minorversion: 'ce_minorversion'
}

export const EVENT_DATA_FIELD = 'event_data'

/** One stream entry as ioredis' *Buffer commands return it: id, then a flat name/value list. */
export type RawStreamEntry = [id: Buffer | string, fields: Array<Buffer | string> | null]

/**
 * A stream entry as the pipeline's record: topic = stream, partition 0 (a stream is one ordered
 * log), offset = entry id, no key. An empty value counts as missing, as upstream treats it; a name
 * written twice becomes a repeated header (dead-lettered like a repeated Kafka header).
 */
export function entryToMessage (stream: string, id: string, fields: ReadonlyArray<Buffer | string>): ConsumedMessage {
  const headers: Record<string, Buffer | Buffer[]> = {}
  let value: Buffer | null = null
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = String(fields[i])
    const raw = fields[i + 1] as Buffer | string
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw
    if (name === EVENT_DATA_FIELD) {
      // A repeated event_data has no single meaning: keep none, so the entry is dead-lettered.
      value = value === null && bytes.length > 0 ? bytes : Buffer.alloc(0)
      continue
    }
    if (bytes.length === 0) continue
    const header = FIELD_TO_HEADER[name] ?? name
    const seen = headers[header]
    headers[header] = seen === undefined ? bytes : Array.isArray(seen) ? [...seen, bytes] : [seen, bytes]
  }
  return { topic: stream, partition: 0, offset: id, key: null, value, headers: headers as KafkaHeaders }
}
