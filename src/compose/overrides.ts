/** What tests (and the CLI) may replace when the services are composed; everything else comes from the configuration. */
import type { logLevel } from 'kafkajs'
import type { RedisSourceTuning } from '../events/redis/redis-source.js'
import type { Config } from '../config.js'
import type { ConsumerTuning } from '../events/consumer/event-consumer.js'
import type { RelevantUserSource, RelevantUsersOptions } from '../events/consumer/relevant-users.js'
import type { CompositeScorer } from '../grades/composite-score.js'
import type { OutboundClient } from '../http/outbound-client.js'
import type { Resolver } from '../http/resolver.js'
import type { LmsClient } from '../lms/lms-client.js'

export interface ServiceOverrides {
  /**
   * Builds the Open edX LMS client (default: from LMS_*). Called at most once; what it returns is
   * owned by the services and closed by `close()`. Return undefined for "no LMS configured".
   */
  lmsClient?: (config: Config) => LmsClient | undefined
  /** Builds the platform-mode outbound client (default: from OUTBOUND_*); owned like `lmsClient`. */
  outbound?: (config: Config) => OutboundClient
  /** DNS for the clients built from the configuration (tests simulate answers). */
  resolver?: Resolver
  /** Scores composite (unit/subsection) jobs; default one over the LMS client and the score ledger. */
  compositeScorer?: Pick<CompositeScorer, 'computeComposite'>
  /** Where the LTI users of the relevance set are read from; default the identity tables. */
  relevantUserSource?: RelevantUserSource
  relevantUsersOptions?: Omit<RelevantUsersOptions, 'source' | 'logger'>
  /** kafkajs timings and retry pacing, over the KAFKA_* ones (tests lower them). */
  consumerTuning?: ConsumerTuning
  kafkaLogLevel?: logLevel
  /** Redis source timings (tests lower them). */
  redisTuning?: RedisSourceTuning
  /** How long stopping the outbox worker waits for in-flight deliveries. Default 10 s. */
  workerStopGraceMs?: number
  /** The clock of the admin services and the event pipeline (milliseconds since the epoch). */
  now?: () => number
}
