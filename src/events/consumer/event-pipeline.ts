import type { Knex } from 'knex'
import type { Config } from '../../config.js'
import { createDeadLettersRepository } from '../../db/repositories/dead-letters-repository.js'
import { createCachedCourseStructure, type BlockTreeSource } from '../../grades/course-structure.js'
import { createScoreChangeRecorder, type ScoreChangeRecorder } from '../../grades/score-change-recorder.js'
import { createSchemaRegistryClient } from '../decode/schema-registry-client.js'
import { createWeightedScoreDecoder, type WeightedScoreDecoder } from '../decode/weighted-score-decoder.js'
import type { ConsumerLogger } from './kafka-client.js'
import { createMessageProcessor, type MessageProcessor } from './message-processor.js'
import { createRelevantUserSource } from './relevant-user-source.js'
import { RelevantUsers, type RelevantUsersOptions } from './relevant-users.js'

export interface EventPipelineOptions {
  config: Config
  knex: Knex
  logger: ConsumerLogger
  /** The LMS (Blocks API) for launches above the problem; undefined = only launches on the problem match. */
  lms?: BlockTreeSource | undefined
  /** Shared with the launch code (its `add` hook); created here when absent. */
  relevantUsers?: RelevantUsers | undefined
  relevantUsersOptions?: Omit<RelevantUsersOptions, 'source' | 'logger'> | undefined
  /** Course tree cache TTL; default 10 min. */
  structureTtlMs?: number | undefined
  now?: () => number
}

export interface EventPipeline {
  decoder: WeightedScoreDecoder
  relevantUsers: RelevantUsers
  recorder: ScoreChangeRecorder
  processor: MessageProcessor
}

/**
 * Decoder (registry or bundled schema), relevance set, recorder and processor, wired from the
 * configuration. Built by the composition root (src/compose/services.ts) for the live consumer and
 * `events replay` alike.
 */
export function createEventPipeline (options: EventPipelineOptions): EventPipeline {
  const { config, knex, logger } = options
  // Redis entries carry the bare Avro body (event-bus.md §9): no registry, the bundled schema.
  const redis = config.eventBusBackend === 'redis'
  const registry = config.SCHEMA_REGISTRY_URL && !redis
    ? createSchemaRegistryClient({
      url: config.SCHEMA_REGISTRY_URL,
      basicAuth: config.SCHEMA_REGISTRY_USERNAME && config.SCHEMA_REGISTRY_PASSWORD
        ? { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD }
        : undefined
    })
    : undefined
  const decoder = createWeightedScoreDecoder({ registry, framing: redis ? 'schemaless' : 'confluent' })
  const relevantUsers = options.relevantUsers ?? new RelevantUsers({
    ...options.relevantUsersOptions,
    source: createRelevantUserSource(knex),
    logger
  })
  const structure = options.lms ? createCachedCourseStructure({ source: options.lms, ttlMs: options.structureTtlMs }) : undefined
  const recorder = createScoreChangeRecorder({
    knex,
    structure,
    compositeDelayMs: config.LTI_AGGREGATE_SCORE_PASSBACK_DELAY * 1000,
    now: options.now
  })
  const processor = createMessageProcessor({
    decoder,
    relevantUsers,
    recorder,
    deadLetters: createDeadLettersRepository(knex),
    now: options.now
  })
  return { decoder, relevantUsers, recorder, processor }
}
