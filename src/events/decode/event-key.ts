import avsc from 'avsc'
import { CONFLUENT_HEADER_LENGTH, CONFLUENT_MAGIC_BYTE, writeConfluentFrame } from './confluent-frame.js'

/**
 * The LMS keys each record by `problem_score.user_id` (event-bus.md §4.2): Confluent frame + Avro
 * primitive `long`, so one learner's changes stay in one partition and in order.
 */
const longType = avsc.Type.forSchema('long')

export function encodeEventKey (userId: number, keySchemaId: number): Buffer {
  return writeConfluentFrame(keySchemaId, longType.toBuffer(userId))
}

/**
 * Upstream consumers never decode the key, so we must not depend on it either: this is for logs and
 * checks only and answers undefined for anything that is not a framed long, instead of throwing.
 */
export function decodeEventKey (key: Buffer | null | undefined): { schemaId: number, userId: number } | undefined {
  if (!key || key.length <= CONFLUENT_HEADER_LENGTH || key[0] !== CONFLUENT_MAGIC_BYTE) return undefined
  try {
    const userId = longType.fromBuffer(key.subarray(CONFLUENT_HEADER_LENGTH)) as number
    return { schemaId: key.readUInt32BE(1), userId }
  } catch {
    return undefined
  }
}
