import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs'
import type { Config } from '../../config.js'

export interface KafkaConnection {
  brokers: string[]
  clientId: string
  ssl: boolean
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username: string, password: string } | undefined
}

/** Pino-shaped logger (Fastify's `app.log` fits). */
export interface ConsumerLogger {
  debug: (obj: object, msg: string) => void
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
  /** pino's: lets the hot path skip building per-record debug fields nobody reads. */
  isLevelEnabled?: (level: string) => boolean
}

/** KAFKA_* settings; the password stays in the returned object only (never logged). */
export function kafkaConnectionFromConfig (config: Config): KafkaConnection {
  const sasl = config.KAFKA_SASL_MECHANISM && config.KAFKA_SASL_USERNAME && config.KAFKA_SASL_PASSWORD
    ? { mechanism: config.KAFKA_SASL_MECHANISM, username: config.KAFKA_SASL_USERNAME, password: config.KAFKA_SASL_PASSWORD }
    : undefined
  return { brokers: config.kafkaBrokers, clientId: config.KAFKA_CLIENT_ID, ssl: config.KAFKA_SSL, sasl }
}

/** kafkajs log lines into our logger, level for level; kafkajs below WARN is noise in production. */
function logCreator (logger: ConsumerLogger): KafkaConfig['logCreator'] {
  return () => ({ level, log }: LogEntry) => {
    const { message, ...extra } = log
    const fields = { kafkajs: log.logger ?? 'kafkajs', ...extra }
    if (level === logLevel.ERROR) logger.error(fields, message)
    else if (level === logLevel.WARN) logger.warn(fields, message)
    else if (level === logLevel.INFO) logger.info(fields, message)
    else logger.debug(fields, message)
  }
}

/** `retry` paces the client's own broker connections and metadata requests (kafkajs default: 5 retries from 300 ms). */
export function createKafka (connection: KafkaConnection, logger: ConsumerLogger, level: logLevel = logLevel.WARN, retry?: KafkaConfig['retry']): Kafka {
  return new Kafka({
    clientId: connection.clientId,
    brokers: connection.brokers,
    ssl: connection.ssl,
    ...(connection.sasl ? { sasl: connection.sasl as SASLOptions } : {}),
    ...(retry ? { retry } : {}),
    logLevel: level,
    logCreator: logCreator(logger)
  })
}
