/**
 * `dead_letters`: event-bus messages we could not use, kept with their topic, partition and offset
 * so an operator can see, fix and replay them. Unique on (topic, partition, offset): recording the
 * same message twice (a redelivery after a crash) keeps the first row.
 */
import type { Knex } from 'knex'
import { isUniqueViolation } from '../connection.js'

export interface DeadLetterInput {
  topic: string
  partition: number
  /** Kafka offsets are int64: kept as the decimal string kafkajs gives. */
  offset: string
  key: Buffer | null
  /** Header name → value(s), already made JSON-safe by the caller. */
  headers: Record<string, unknown>
  value: Buffer | null
  errorCode: string
  error: string
  createdAt: number
}

export interface DeadLetter {
  id: number
  topic: string
  partition: number
  offset: string
  key: Buffer | null
  headers: Record<string, unknown>
  value: Buffer | null
  errorCode: string
  error: string
  status: string
  createdAt: number
}

interface Row {
  id: number
  topic: string
  partition: number
  offset: string
  message_key: Buffer | null
  headers: string
  message_value: Buffer | null
  error_code: string
  error: string
  status: string
  created_at: number | string
}

const MAX_ERROR_CHARS = 4000

function fromRow (row: Row): DeadLetter {
  return {
    id: Number(row.id),
    topic: row.topic,
    partition: Number(row.partition),
    offset: String(row.offset),
    key: row.message_key,
    headers: JSON.parse(row.headers) as Record<string, unknown>,
    value: row.message_value,
    errorCode: row.error_code,
    error: row.error,
    status: row.status,
    createdAt: Number(row.created_at)
  }
}

export function createDeadLettersRepository (knex: Knex) {
  const q = (trx?: Knex.Transaction) => (trx ?? knex)('dead_letters')
  return {
    async record (input: DeadLetterInput, trx?: Knex.Transaction): Promise<'inserted' | 'duplicate'> {
      try {
        await q(trx).insert({
          topic: input.topic,
          partition: input.partition,
          offset: input.offset,
          message_key: input.key,
          headers: JSON.stringify(input.headers),
          message_value: input.value,
          error_code: input.errorCode,
          error: input.error.slice(0, MAX_ERROR_CHARS),
          status: 'new',
          created_at: input.createdAt
        })
        return 'inserted'
      } catch (err) {
        if (isUniqueViolation(err)) return 'duplicate'
        throw err
      }
    },

    /** Newest first. */
    async list (limit: number, trx?: Knex.Transaction): Promise<DeadLetter[]> {
      const rows = await q(trx).select('*').orderBy('id', 'desc').limit(limit) as Row[]
      return rows.map(fromRow)
    }
  }
}

export type DeadLettersRepository = ReturnType<typeof createDeadLettersRepository>
