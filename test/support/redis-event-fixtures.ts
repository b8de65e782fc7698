import { readFileSync } from 'node:fs'

/**
 * The Redis Streams fixtures (copied from shared/fixtures/event-bus-redis): entries written by Open
 * edX's own edx-event-bus-redis producer, read back with XRANGE, with what each decodes to.
 */
export interface RedisFixtureEntry {
  file: string
  description: string
  stream: string
  entryId: string
  /** name, value, name, value … with the exact bytes, in XRANGE order. */
  fields: Array<string | Buffer>
  record: { problem_score: Record<string, unknown> }
  metadata: { event_type: string, id: string, source: string, time: string, sourcehost: string }
}

export interface RedisFixtureManifest {
  stream: string
  topicPrefix: string
  topic: string
  eventType: string
  entries: RedisFixtureEntry[]
}

const dir = new URL('../fixtures/event-bus-redis/', import.meta.url)

interface RawManifest {
  stream: string
  topic: string
  topic_prefix: string
  event_type: string
  entries: Array<{ file: string, description: string, event_data_avro_record: RedisFixtureEntry['record'], decoded_by_upstream_consumer: { metadata: RedisFixtureEntry['metadata'] } }>
}

interface RawEntry { stream: string, entry_id: string, fields: Array<{ name: string, base64: string }> }

export function loadRedisFixtures (): RedisFixtureManifest {
  const raw = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as RawManifest
  return {
    stream: raw.stream,
    topic: raw.topic,
    topicPrefix: raw.topic_prefix,
    eventType: raw.event_type,
    entries: raw.entries.map(e => {
      const file = JSON.parse(readFileSync(new URL(e.file, dir), 'utf8')) as RawEntry
      return {
        file: e.file,
        description: e.description,
        stream: file.stream,
        entryId: file.entry_id,
        fields: file.fields.flatMap(f => [f.name, Buffer.from(f.base64, 'base64')]),
        record: e.event_data_avro_record,
        metadata: e.decoded_by_upstream_consumer.metadata
      }
    })
  }
}
