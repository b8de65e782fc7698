import avsc from 'avsc'
import type { Type } from 'avsc'
import { EventError } from '../errors.js'
import { BoundedCache } from './bounded-cache.js'
import { weightedScoreType } from './bundled-schema.js'
import { readConfluentFrame } from './confluent-frame.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from './event-type.js'
import { classifyMessage, type KafkaHeaders, type MessageClassification, type OpenEdxHeaders } from './open-edx-headers.js'
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
  /** Throws an EVENT_* AppError; see isPermanentEventError / isTransientEventError. */
  decode: (message: EventMessage) => Promise<DecodeResult>
}

function toAvroError (err: unknown, schemaId: number) {
  const reason = err instanceof Error ? err.message : String(err)
  // avsc reads past the end without throwing and reports it once at the end as 'truncated buffer'.
  if (reason === 'truncated buffer') return EventError('EVENT_TRUNCATED', { where: 'avro', schemaId }, { cause: err })
  return EventError('EVENT_BAD_PAYLOAD', { schemaId, reason }, { cause: err })
}

function buildResolver (reader: Type, schemaId: number, schemaText: string): Resolver {
  try {
    const writer = avsc.Type.forSchema(JSON.parse(schemaText) as Parameters<typeof avsc.Type.forSchema>[0])
    return reader.createResolver(writer)
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    throw EventError('EVENT_SCHEMA_MISMATCH', { schemaId, reason }, { cause })
  }
}

export function createWeightedScoreDecoder (options: WeightedScoreDecoderOptions = {}): WeightedScoreDecoder {
  const eventType = options.eventType ?? WEIGHTED_SCORE_CHANGED_EVENT_TYPE
  // Built once at start: a configured event type that is not a valid Avro namespace fails here, at boot.
  const reader = weightedScoreType(eventType)
  const registry = options.registry
  const resolvers = new BoundedCache<number, Resolver>(options.maxCachedResolvers ?? 64)

  async function resolverFor (schemaId: number): Promise<Resolver | undefined> {
    if (!registry) return undefined
    const cached = resolvers.get(schemaId)
    if (cached) return cached
    const resolver = buildResolver(reader, schemaId, await registry.getSchema(schemaId))
    resolvers.set(schemaId, resolver)
    return resolver
  }

  function classify (headers: KafkaHeaders | undefined): MessageClassification {
    return classifyMessage(headers ?? {}, eventType)
  }

  return {
    eventType,
    classify,
    async decode (message) {
      const triage = classify(message.headers)
      if (triage.kind === 'error') throw triage.error
      if (triage.kind === 'other-type') return triage
      const frame = readConfluentFrame(message.value)
      const resolver = await resolverFor(frame.schemaId)
      let record: unknown
      try {
        record = reader.fromBuffer(frame.body, resolver)
      } catch (err) {
        throw toAvroError(err, frame.schemaId)
      }
      const { event, modifiedEpochMicros } = toWeightedScoreChanged(record)
      return { kind: 'event', event, modifiedEpochMicros, headers: triage.headers, schemaId: frame.schemaId }
    }
  }
}
