import { weightedScoreType } from '../decode/bundled-schema.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from '../decode/event-type.js'
import type { EventMetadata } from '../decode/weighted-score-encoder.js'
import { toCloudEventRecord, type WeightedScoreChanged } from '../decode/weighted-score-changed.js'
import { EVENT_DATA_FIELD } from './redis-entry.js'

/**
 * An entry as edx-event-bus-redis writes it (event-bus.md §9): the eight fields in the producer's
 * order, `event_data` the bare Avro body. For tests, the demo and the bench (the LMS writes the real ones).
 */
export function createRedisEntryEncoder (eventType: string = WEIGHTED_SCORE_CHANGED_EVENT_TYPE): (event: WeightedScoreChanged, metadata: EventMetadata) => Array<string | Buffer> {
  const type = weightedScoreType(eventType)
  return (event, metadata) => [
    'type', eventType,
    'id', metadata.ce_id,
    'source', metadata.ce_source,
    'time', metadata.ce_time,
    'minorversion', metadata.ce_minorversion,
    'sourcehost', metadata.sourcehost,
    'sourcelib', metadata.sourcelib,
    EVENT_DATA_FIELD, type.toBuffer(toCloudEventRecord(event))
  ]
}

/**
 * Upstream's XADD arguments: `MAXLEN ~ <n> *` then the fields (the producer trims on every write).
 * `exact` trims to exactly n (tests: `~` only drops whole radix-tree nodes, 100 entries by default).
 */
export function xaddArgs (stream: string, fields: Array<string | Buffer>, maxLen = 10_000, exact = false): Array<string | Buffer> {
  return [stream, 'MAXLEN', ...(exact ? [] : ['~']), String(maxLen), '*', ...fields]
}
