import avsc from 'avsc'
import type { Type } from 'avsc'
import { EventError } from '../errors.js'
import { BoundedCache } from './bounded-cache.js'
import { weightedScoreSchema, weightedScoreType } from './bundled-schema.js'
import { readConfluentFrame, type ConfluentFrame } from './confluent-frame.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from './event-type.js'
import { classifyEventType, classifyMessage, type EventTypeClassification, type KafkaHeaders, type MessageClassification, type OpenEdxHeaders } from './open-edx-headers.js'
import type { SchemaRegistryClient } from './schema-registry-client.js'
import { toWeightedScoreChanged, type WeightedScoreChanged } from './weighted-score-changed.js'

type Resolver = ReturnType<Type['createResolver']>

export interface WeightedScoreDecoderOptions {
  /** Default `org.openedx.learning.problem.weighted_score.changed.v1`. */
  eventType?: string | undefined
  /**
   * With a registry, the writer schema of each schema id is fetched and resolved against our reader
   * schema. Without one, every id is read with the bundled schema: correct only while the producer
   * uses the identical schema (event-bus.md §5).
   */
  registry?: SchemaRegistryClient | undefined
  /**
   * `confluent` (Kafka): magic byte + schema id before the Avro body. `schemaless` (Redis Streams,
   * event-bus.md §9): the value is the bare Avro body, always read with the bundled schema (there is
   * no registry and no schema id on that bus). Default `confluent`.
   */
  framing?: 'confluent' | 'schemaless' | undefined
  /** Resolvers kept per schema id; default 64. */
  maxCachedResolvers?: number | undefined
}

/** The parts of a Kafka record the decoder reads (kafkajs `KafkaMessage` fits). */
export interface EventMessage {
  headers?: KafkaHeaders | undefined
  value: Buffer | null
}

export type DecodeResult =
  | {
    kind: 'event'
    event: WeightedScoreChanged
    /** `event.modified` as epoch microseconds: the ordering key for one (user, problem). */
    modifiedEpochMicros: number
    headers: OpenEdxHeaders
    schemaId: number
  }
  /** Another event type on the same topic: skip it (resolve the offset), nothing was decoded. */
  | { kind: 'other-type', eventType: string }

export interface WeightedScoreDecoder {
  readonly eventType: string
  /** Header-only triage, no payload or registry access. */
  classify: (headers: KafkaHeaders | undefined) => MessageClassification
  /** `ce_type` only (the other headers are not read): the hot-path gate. */
  classifyType: (headers: KafkaHeaders | undefined) => EventTypeClassification
  /**
   * The `user_id` of a record of our type, read through a projection of the schema (the other
   * fields are skipped, not decoded), so relevance is known before the rest is decoded. Returns
   * synchronously when the writer schema is at hand (bundled, or cached from the registry).
   * Throws (or rejects with) the same EVENT_* errors as `decode` for the frame and the Avro body.
   */
  userIdOf: (value: Buffer | null) => number | Promise<number>
  /** Throws an EVENT_* AppError; see isPermanentEventError / isTransientEventError. */
  decode: (message: EventMessage) => Promise<DecodeResult>
}

function toAvroError (err: unknown, schemaId: number) {
  const reason = err instanceof Error ? err.message : String(err)
  // avsc reads past the end without throwing and reports it once at the end as 'truncated buffer'.
  if (reason === 'truncated buffer') return EventError('EVENT_TRUNCATED', { where: 'avro', schemaId }, { cause: err })
  return EventError('EVENT_BAD_PAYLOAD', { schemaId, reason }, { cause: err })
}

/** Per writer schema: the whole record, and `problem_score.user_id` alone (undefined: read as written). */
interface Resolvers {
  full: Resolver | undefined
  userId: Resolver
}

interface UserIdRecord { problem_score: { user_id: number } }

/**
 * The reader schema cut down to `problem_score.user_id`, same names: Avro resolution reads that
 * field wherever the writer put it and skips the others by their length, without building strings.
 */
function userIdType (eventType: string): Type {
  const schema = weightedScoreSchema(eventType) as unknown as { fields: Array<{ name: string, type: { fields: Array<{ name: string }> } }> }
  const fields = schema.fields.map(field => field.name === 'problem_score'
    ? { ...field, type: { ...field.type, fields: field.type.fields.filter(f => f.name === 'user_id') } }
    : field)
  return avsc.Type.forSchema({ ...schema, fields } as unknown as Parameters<typeof avsc.Type.forSchema>[0])
}

function buildResolvers (reader: Type, projection: Type, schemaId: number, schemaText: string): Resolvers {
  try {
    const writer = avsc.Type.forSchema(JSON.parse(schemaText) as Parameters<typeof avsc.Type.forSchema>[0])
    return { full: reader.createResolver(writer), userId: projection.createResolver(writer) }
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw EventError('EVENT_SCHEMA_MISMATCH', { schemaId, reason }, { cause })
  }
}

/** The schema id reported for a schemaless value (Confluent ids start at 1). */
export const SCHEMALESS_SCHEMA_ID = 0

/** A bare Avro body: an empty or missing value has no record at all. */
function readSchemaless (value: Buffer | null | undefined): ConfluentFrame {
  if (!value || value.length === 0) throw EventError('EVENT_TRUNCATED', { where: 'frame', length: 0 })
  return { schemaId: SCHEMALESS_SCHEMA_ID, body: value }
}

export function createWeightedScoreDecoder (options: WeightedScoreDecoderOptions = {}): WeightedScoreDecoder {
  const eventType = options.eventType ?? WEIGHTED_SCORE_CHANGED_EVENT_TYPE
  const schemaless = options.framing === 'schemaless'
  const readFrame = schemaless ? readSchemaless : readConfluentFrame
  // Built once at start: a configured event type that is not a valid Avro namespace fails here, at boot.
  const reader = weightedScoreType(eventType)
  const eventTypeBytes = Buffer.from(eventType, 'utf8')
  const projection = userIdType(eventType)
  // A registry has nothing to say about schemaless values: there is no id to look up.
  const registry = schemaless ? undefined : options.registry
  // Without a registry every record is read as written with the bundled schema.
  const bundled: Resolvers = { full: undefined, userId: projection.createResolver(reader) }
  const resolvers = new BoundedCache<number, Resolvers>(options.maxCachedResolvers ?? 64)
  // Nearly every record carries the same schema id: skip the LRU bookkeeping for it.
  let last: { schemaId: number, resolvers: Resolvers } | undefined

  function cachedResolvers (schemaId: number): Resolvers | undefined {
    if (!registry) return bundled
    if (last?.schemaId === schemaId) return last.resolvers
    const cached = resolvers.get(schemaId)
    if (cached) last = { schemaId, resolvers: cached }
    return cached
  }

  async function resolversFor (schemaId: number): Promise<Resolvers> {
    const cached = cachedResolvers(schemaId)
    if (cached) return cached
    const built = buildResolvers(reader, projection, schemaId, await (registry as SchemaRegistryClient).getSchema(schemaId))
    resolvers.set(schemaId, built)
    last = { schemaId, resolvers: built }
    return built
  }

  function readUserId (body: Buffer, schemaId: number, found: Resolvers): number {
    try {
      return (projection.fromBuffer(body, found.userId) as UserIdRecord).problem_score.user_id
    } catch (err) {
      throw toAvroError(err, schemaId)
    }
  }

  function classify (headers: KafkaHeaders | undefined): MessageClassification {
    return classifyMessage(headers ?? {}, eventType)
  }

  return {
    eventType,
    classify,
    classifyType: headers => classifyEventType(headers ?? {}, eventType, eventTypeBytes),
    userIdOf (value) {
      const frame = readFrame(value)
      const found = cachedResolvers(frame.schemaId)
      if (found) return readUserId(frame.body, frame.schemaId, found)
      return resolversFor(frame.schemaId).then(fetched => readUserId(frame.body, frame.schemaId, fetched))
    },
    async decode (message) {
      const triage = classify(message.headers)
      if (triage.kind === 'error') throw triage.error
      if (triage.kind === 'other-type') return triage
      const frame = readFrame(message.value)
      const { full } = await resolversFor(frame.schemaId)
      let record: unknown
      try {
        record = reader.fromBuffer(frame.body, full)
      } catch (err) {
        throw toAvroError(err, frame.schemaId)
      }
      const { event, modifiedEpochMicros } = toWeightedScoreChanged(record)
      return { kind: 'event', event, modifiedEpochMicros, headers: triage.headers, schemaId: frame.schemaId }
    }
  }
}
