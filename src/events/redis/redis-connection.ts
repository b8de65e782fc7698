import { Redis, type RedisOptions } from 'ioredis'
import type { Config } from '../../config.js'

export interface RedisConnection {
  /** redis:// or rediss:// (TLS), with password and db number as Open edX's EVENT_BUS_REDIS_CONNECTION_URL. */
  url: string
  /** Name shown by CLIENT LIST (operators see who holds a connection). */
  connectionName?: string | undefined
}

export function redisConnectionFromConfig (config: Config): RedisConnection {
  return { url: config.REDIS_URL ?? '', connectionName: `lti-provider:${config.redisConsumerName}` }
}

/**
 * One ioredis client. Commands fail fast while the server is away (no offline queue, one retry)
 * so the source sees the error, reports it on /ready and retries with its own backoff, while
 * ioredis reconnects in the background (capped at 2 s between attempts).
 */
export function createRedisClient (connection: RedisConnection, extra: RedisOptions = {}): Redis {
  return new Redis(connection.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: times => Math.min(2000, 100 * 2 ** Math.min(times, 5)),
    ...(connection.connectionName ? { connectionName: connection.connectionName.replace(/\s/g, '_') } : {}),
    ...extra
  })
}

/** The part of a redis URL that may be logged: scheme, host, port and db, never the password. */
export function redactedRedisUrl (url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return 'redis://(unparsable)'
  }
}
