/**
 * The whole service loop for the soak, on loopback: librdkafka's mock cluster (a Kafka-protocol
 * broker whose stdin takes fault commands), the fake Open edX LMS, a fake LTI 1.1 consumer (its
 * outcome service), a fake LTI 1.3 platform (OIDC auth endpoint, JWKS) with its AGS token and
 * scores endpoints, and the service on SQLite or MariaDB, registered through the admin API.
 *
 * The outcome service and the AGS fake are `SwitchableServer`s (test/support): `down()` drops
 * every connection and stops listening, `up()` listens again on the SAME port, so the URLs the
 * service stored at launch stay valid across a platform restart.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { ConfigSchema, loadConfig } from '../../src/config.js'
import { buildServer } from '../../src/server.js'
import { startMockKafka, type MockKafka } from '../../test/support/kafka-mock-broker.js'
import { startFakeLms, type FakeLms } from '../../test/support/fake-lms.js'
import { startFakeLti11OutcomeService, type FakeOutcomeService } from '../../test/support/fake-lti11-outcome-service.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../../test/support/fake-lti13-platform.js'
import { startFakeAgsPlatform, type FakeAgsPlatform } from '../../test/support/fake-ags-platform.js'
import type { BenchDb } from './bench-db.js'
import { freePort } from './free-port.js'

export const SOAK_TOPIC = 'learning-problem-score-lifecycle'
export const SOAK_PARTITIONS = 3

export interface SoakStack {
  app: FastifyInstance
  publicUrl: string
  kafka: MockKafka
  lms: FakeLms
  outcomes: FakeOutcomeService
  platform: FakeLti13Platform
  ags: FakeAgsPlatform
  lti11: { key: string, secret: string }
  /** The service's environment (no secrets of any value: all generated for this run). */
  env: Record<string, string>
  close: () => Promise<void>
}

/**
 * The service's own settings, chosen so that retries happen within a soak's few minutes. Only
 * variables of src/config.ts: the passback backoff (5 s doubling) has no variable, so the service
 * runs it as in production. `lowerKafka: false` (`--kafka-as-configured`) keeps the group timings.
 */
export function soakServiceEnv (backend: BenchDb['backend'], lowerKafka = true): Record<string, string> {
  return {
    NODE_ENV: 'test',
    // The worker claims again 5× a second, and retries are due without waiting for a slow poll.
    PASSBACK_POLL_INTERVAL_MS: '200',
    // A job whose delivery was cut by a restart is claimable again soon (not after 2 min).
    PASSBACK_LEASE_SECONDS: '10',
    // Outages are short; no job may die of them (a dead final grade would be counted as lost).
    PASSBACK_MAX_ATTEMPTS: '30',
    OUTBOUND_TIMEOUT_MS: '3000',
    LMS_TIMEOUT_MS: '3000',
    // More than one partition at a time helps on MariaDB only (config.ts).
    KAFKA_PARTITIONS_CONCURRENCY: backend === 'mariadb' ? String(SOAK_PARTITIONS) : '1',
    KAFKA_FROM_BEGINNING: 'true',
    ...(lowerKafka ? kafkaTimingsEnv() : {}),
    ...rateLimitsOff()
  }
}

/**
 * The consumer group timings (KAFKA_SESSION_TIMEOUT_MS 30 s, rebalance 60 s, heartbeat 3 s by
 * default). After a broker outage the group is joined again only once the old member's session has
 * expired on the coordinator: 30 s of no consumption per outage, longer than the whole quick form.
 * The soak lowers them to the values kafka-testing.md §2.4 recommends for tests.
 */
export const SOAK_KAFKA_TIMINGS = { sessionTimeout: 6000, rebalanceTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 500 }
function kafkaTimingsEnv (): Record<string, string> {
  return {
    KAFKA_SESSION_TIMEOUT_MS: String(SOAK_KAFKA_TIMINGS.sessionTimeout),
    KAFKA_REBALANCE_TIMEOUT_MS: String(SOAK_KAFKA_TIMINGS.rebalanceTimeout),
    KAFKA_HEARTBEAT_INTERVAL_MS: String(SOAK_KAFKA_TIMINGS.heartbeatInterval),
    KAFKA_MAX_WAIT_MS: String(SOAK_KAFKA_TIMINGS.maxWaitTimeInMs)
  }
}

/**
 * Rate limits are not under test here: the soak's single client IP would hit a per-IP launch limit.
 * Whatever RATE_LIMIT_* variables config.ts has, switch them off: booleans false, numbers to
 * their maximum (or a million).
 */
export function rateLimitsOff (): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, schema] of Object.entries(ConfigSchema.properties as Record<string, { type?: string, maximum?: number }>)) {
    if (!name.startsWith('RATE_LIMIT')) continue
    if (schema.type === 'boolean') out[name] = 'false'
    else if (schema.type === 'integer' || schema.type === 'number') out[name] = String(schema.maximum ?? 1_000_000)
  }
  return out
}

export interface SoakStackOptions {
  db: BenchDb
  logLevel: string
  /** Extra service environment over soakServiceEnv. */
  env?: Record<string, string>
  /** false: the consumer keeps the service's group timings (see SOAK_KAFKA_TIMINGS). */
  lowerKafkaTimings: boolean
}

export async function startSoakStack (options: SoakStackOptions): Promise<SoakStack> {
  const cleanups: Array<() => Promise<unknown>> = []
  const close = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
    cleanups.length = 0
  }
  try {
    const kafka = await startMockKafka({ brokers: 1, topics: [{ topic: SOAK_TOPIC, partitions: SOAK_PARTITIONS }] })
    cleanups.push(() => kafka.stop())
    const relay = { key: 'soak-relay', secret: randomBytes(12).toString('hex') }
    const lms = await startFakeLms({ ltiConsumers: [{ key: relay.key, secret: relay.secret, usePii: true }] })
    cleanups.push(() => lms.close())
    const lti11 = { key: 'soak-consumer', secret: randomBytes(12).toString('hex') }
    const outcomes = await startFakeLti11OutcomeService({ consumers: { [lti11.key]: lti11.secret } })
    cleanups.push(() => outcomes.close())

    const port = await freePort()
    const publicUrl = `http://127.0.0.1:${port}`
    const platform = await startFakeLti13Platform({ redirectUris: [`${publicUrl}/lti/1.3/launch`] })
    cleanups.push(() => platform.close())
    const ags = await startFakeAgsPlatform({
      clientId: platform.clientId,
      toolJwks: async () => await (await fetch(`${publicUrl}/lti/1.3/jwks`)).json() as { keys: [] }
    })
    cleanups.push(() => ags.close())

    const adminToken = randomBytes(24).toString('hex')
    const env: Record<string, string> = {
      ...soakServiceEnv(options.db.backend, options.lowerKafkaTimings),
      LOG_LEVEL: options.logLevel,
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      DATABASE_URL: options.db.url,
      ADMIN_TOKEN: adminToken,
      LMS_URL: lms.url,
      LMS_CLIENT_ID: 'lti-provider-client',
      LMS_CLIENT_SECRET: 'lti-provider-secret',
      LMS_RELAY_CONSUMER_KEY: relay.key,
      LMS_RELAY_CONSUMER_SECRET: relay.secret,
      KAFKA_BROKERS: kafka.bootstrap.join(','),
      KAFKA_GROUP_ID: `soak-${process.pid}`,
      OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true',
      ...options.env
    }
    const app = await buildServer(loadConfig(env, { envFile: false }))
    cleanups.push(() => app.close())
    await app.listen({ port, host: '127.0.0.1' })

    const admin = async (path: string, body: unknown): Promise<void> => {
      const res = await fetch(`${publicUrl}/admin/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body)
      })
      if (res.status !== 201) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`)
    }
    await admin('/lti11/consumers', { name: 'Soak LTI 1.1 consumer', key: lti11.key, secret: lti11.secret, contentScope: ['course-v1:OpenedX+*'] })
    await admin('/lti13/registrations', {
      name: 'Soak LTI 1.3 platform', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
      authTokenUrl: ags.tokenUrl, jwksUrl: platform.jwksUrl, deploymentIds: [platform.deploymentId], contentScope: ['course-v1:OpenedX+*']
    })

    // Ready = database up, LTI users loaded, consumer joined its group.
    const readyBy = Date.now() + 60_000
    while ((await fetch(`${publicUrl}/ready`)).status !== 200) {
      if (Date.now() > readyBy) throw new Error('service not ready within 60 s')
      await sleep(100)
    }
    return { app, publicUrl, kafka, lms, outcomes, platform, ags, lti11, env, close }
  } catch (err) {
    await close()
    throw err
  }
}
