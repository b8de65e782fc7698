import { EventError } from '../errors.js'

/** Confluent wire format (event-bus.md §4.1): magic 0x00, uint32 big-endian schema id, then the Avro body. */
export const CONFLUENT_MAGIC_BYTE = 0
export const CONFLUENT_HEADER_LENGTH = 5
const MAX_SCHEMA_ID = 0xffffffff

export interface ConfluentFrame {
  schemaId: number
  /** Avro binary without container header; a view into the original buffer, not a copy. */
  body: Buffer
}

/** Throws EVENT_TRUNCATED (no or short value) or EVENT_BAD_MAGIC. */
export function readConfluentFrame (value: Buffer | null | undefined): ConfluentFrame {
  if (!value || value.length < CONFLUENT_HEADER_LENGTH) {
    throw EventError('EVENT_TRUNCATED', { where: 'frame', length: value?.length ?? 0 })
  }
  if (value[0] !== CONFLUENT_MAGIC_BYTE) {
    throw EventError('EVENT_BAD_MAGIC', { magic: value[0] })
  }
  return { schemaId: value.readUInt32BE(1), body: value.subarray(CONFLUENT_HEADER_LENGTH) }
}

export function writeConfluentFrame (schemaId: number, body: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > MAX_SCHEMA_ID) {
    throw new RangeError(`schema id must be a uint32, got ${schemaId}`)
  }
  const header = Buffer.alloc(CONFLUENT_HEADER_LENGTH)
  header[0] = CONFLUENT_MAGIC_BYTE
  header.writeUInt32BE(schemaId, 1)
  return Buffer.concat([header, body])
}
