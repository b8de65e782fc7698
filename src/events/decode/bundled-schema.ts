import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import avsc from 'avsc'
import type { Type } from 'avsc'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE, WEIGHTED_SCORE_CHANGED_SCHEMA_FILE } from './event-type.js'

/**
 * The vendored `.avsc` is the one copy of the schema. It lives at the package root (schemas/avro),
 * which is three levels above this file when run from src/ and four when run from dist/src/: walk
 * up instead of hard-coding either.
 */
function findSchemaFile (fileName: string): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, 'schemas', 'avro', fileName)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`schemas/avro/${fileName} not found above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}

/** avsc's schema type is not exported by name. */
export type AvroSchema = Parameters<typeof avsc.Type.forSchema>[0]

let bundledText: string | undefined

/** The vendored reader schema as written on disk (event-bus.md §3.2). */
export function bundledSchemaText (): string {
  bundledText ??= readFileSync(findSchemaFile(WEIGHTED_SCORE_CHANGED_SCHEMA_FILE), 'utf8')
  return bundledText
}

/**
 * openedx-events uses the event type as the record namespace, so a deployment that republishes the
 * event under a private prefix also changes the full record names; Avro resolution matches names,
 * hence the namespace follows the configured type.
 */
export function weightedScoreSchema (eventType: string = WEIGHTED_SCORE_CHANGED_EVENT_TYPE): AvroSchema {
  const schema = JSON.parse(bundledSchemaText()) as Record<string, unknown>
  return { ...schema, namespace: eventType } as unknown as AvroSchema
}

/**
 * avsc's default `wrapUnions: 'auto'` leaves `["null", T]` unwrapped (plain `null` or `T`), which is
 * what the decoder relies on. Throws avsc's own error for a type name Avro forbids (e.g. with `-`).
 */
export function weightedScoreType (eventType: string = WEIGHTED_SCORE_CHANGED_EVENT_TYPE): Type {
  return avsc.Type.forSchema(weightedScoreSchema(eventType))
}
