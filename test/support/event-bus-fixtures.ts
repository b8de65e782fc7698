import { readFileSync } from 'node:fs'
import type { WeightedScoreChanged } from '../../src/events/decode/weighted-score-changed.js'
import { OPEN_EDX_HEADER_NAMES, type OpenEdxHeaderName } from '../../src/events/decode/open-edx-headers.js'

/**
 * The event-bus fixtures (copied from shared/fixtures/event-bus): written by Apache Avro's own
 * encoder with Confluent framing and the exact Open edX headers, so they check our decoder against
 * bytes we did not produce.
 */
export interface FixtureMessage {
  name: string
  decoded: WeightedScoreChanged
  headers: Record<OpenEdxHeaderName, string>
  key_hex: string
  value_hex: string
  /** The .bin files, read. */
  key: Buffer
  value: Buffer
}

export interface FixtureManifest {
  event_type: string
  key_schema: string
  key_schema_id: number
  value_schema: string
  value_schema_id: number
  messages: FixtureMessage[]
}

const dir = new URL('../fixtures/event-bus/', import.meta.url)

export function loadEventBusFixtures (): FixtureManifest {
  const raw = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as Omit<FixtureManifest, 'messages'> & {
    messages: Array<Omit<FixtureMessage, 'key' | 'value'> & { key_file: string, value_file: string }>
  }
  return {
    ...raw,
    messages: raw.messages.map(({ key_file: keyFile, value_file: valueFile, ...m }) => ({
      ...m,
      key: readFileSync(new URL(keyFile, dir)),
      value: readFileSync(new URL(valueFile, dir))
    }))
  }
}

/** Headers as kafkajs hands them to a consumer: Buffers, in the producer's order (the manifest sorts them). */
export function fixtureHeaders (message: FixtureMessage): Record<string, Buffer> {
  return Object.fromEntries(OPEN_EDX_HEADER_NAMES.map(name => [name, Buffer.from(message.headers[name], 'utf8')]))
}
