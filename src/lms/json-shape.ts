import { lmsError } from './errors.js'

/**
 * Small readers for LMS JSON. The LMS is trusted to be the LMS, not to be bug-free across
 * releases: a missing or mistyped field becomes LMS_BAD_RESPONSE naming the field, never a
 * TypeError deep in a launch.
 */
export type JsonRecord = Record<string, unknown>

export function parseJson (body: Buffer, what: string): unknown {
  try {
    return JSON.parse(body.toString('utf8'))
  } catch (cause) {
    throw lmsError('LMS_BAD_RESPONSE', { what, reason: 'not-json' }, { cause })
  }
}

export function asRecord (value: unknown, what: string): JsonRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw lmsError('LMS_BAD_RESPONSE', { what, reason: 'not-an-object' })
  }
  return value as JsonRecord
}

export function asArray (value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw lmsError('LMS_BAD_RESPONSE', { what, reason: 'not-an-array' })
  return value
}

export function str (record: JsonRecord, field: string, what: string): string {
  const v = record[field]
  if (typeof v !== 'string') throw lmsError('LMS_BAD_RESPONSE', { what, field, reason: 'not-a-string' })
  return v
}

export function optStr (record: JsonRecord, field: string): string | null {
  const v = record[field]
  return typeof v === 'string' ? v : null
}

export function num (record: JsonRecord, field: string, what: string): number {
  const v = record[field]
  if (typeof v !== 'number' || !Number.isFinite(v)) throw lmsError('LMS_BAD_RESPONSE', { what, field, reason: 'not-a-number' })
  return v
}

export function optNum (record: JsonRecord, field: string): number | null {
  const v = record[field]
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

export function bool (record: JsonRecord, field: string, fallback: boolean): boolean {
  const v = record[field]
  return typeof v === 'boolean' ? v : fallback
}
