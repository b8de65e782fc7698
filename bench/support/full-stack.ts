/**
 * The whole grade loop on loopback, as `npm run demo` runs it: a Kafka-protocol broker (librdkafka's
 * mock cluster), the fake Open edX LMS (default course tree: unit1 holds p1 and p2), a fake LTI 1.1
 * consumer (its outcome service), and the service on SQLite with its event consumer and outbox
 * worker at their default settings unless `env` says otherwise. Learners arrive through real LTI
 * 1.1 launches; score events are published in the Open edX wire format.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../../src/config.js'
import { buildServer } from '../../src/server.js'
import { createLti11ConsumersRepository } from '../../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../../src/launch/lti11/launch.js'
import { signLti11Request } from '../../src/lti/v11/oauth-sign.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../../src/events/decode/index.js'
import { toPythonIsoformat } from '../../src/events/decode/python-isoformat.js'
import { startMockKafka, type MockKafka } from '../../test/support/kafka-mock-broker.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../../test/support/fake-lms.js'
import { startFakeLti11OutcomeService, type FakeOutcomeService } from '../../test/support/fake-lti11-outcome-service.js'
import { openBenchDb, type BenchDb } from './bench-db.js'
import { freePort } from './free-port.js'

export const COURSE = DEMO_COURSE_ID
export const block = (type: string, id: string): string => usageKey(COURSE, type, id)

export interface Learner {
  ltiUserId: string
  lmsUserId: number
  sourcedId: string
}

export interface ScoreEvent {
  lmsUserId: number
  usageKey: string
  earned: number
  possible: number
  /** Epoch ms of the change (`modified`); later changes must carry later times. */
  modifiedMs: number
}

export interface FullStack {
  app: FastifyInstance
  lms: FakeLms
  outcomes: FakeOutcomeService
  /** An LTI 1.1 launch on `usage` (a problem, a unit…) with its own result sourcedid. */
  launch: (ltiUserId: string, usage: string) => Promise<Learner>
  /** One producer batch, in order (events of one learner share a key, hence a partition). */
  publish: (events: ScoreEvent[]) => Promise<void>
  /** Replace-result requests the outcome service received for `sourcedId`. */
  pushesFor: (sourcedId: string) => number
  close: () => Promise<void>
}

const TOPIC = 'learning-problem-score-lifecycle'

const CONSUMER = { key: 'bench-consumer', secret: 'bench-consumer-secret' }

export interface FullStackOptions {
  /** Environment of the service over the bench defaults. */
  env?: Record<string, string>
  /**
   * KAFKA_MAX_WAIT_MS for the service. librdkafka's mock cluster answers an empty Fetch only after
   * the whole long-poll, even when data arrives meanwhile (a real broker answers at once): a lower
   * wait makes the mock behave closer to a real broker. Undefined keeps the service default.
   */
  consumerMaxWaitMs?: number
}

export async function startFullStack (options: FullStackOptions = {}): Promise<FullStack> {
  const env = options.env ?? {}
  const cleanups: Array<() => Promise<unknown>> = []
  const close = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {})
  }
  try {
    const kafka: MockKafka = await startMockKafka({ brokers: 1, topics: [{ topic: TOPIC, partitions: 3 }] })
    cleanups.push(() => kafka.stop())
    const lms = await startFakeLms({ ltiConsumers: [{ key: 'relay', secret: 'relay-secret', usePii: true }] })
    cleanups.push(() => lms.close())
    const outcomes = await startFakeLti11OutcomeService({ consumers: { [CONSUMER.key]: CONSUMER.secret } })
    cleanups.push(() => outcomes.close())
    const db: BenchDb = await openBenchDb('sqlite')
    cleanups.push(() => db.drop())
    const port = await freePort()
    const publicUrl = `http://127.0.0.1:${port}`
    const config = loadConfig({
      NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), PUBLIC_URL: publicUrl, DATABASE_URL: db.url,
      LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret',
      LMS_RELAY_CONSUMER_KEY: 'relay', LMS_RELAY_CONSUMER_SECRET: 'relay-secret',
      KAFKA_BROKERS: kafka.bootstrap.join(','), OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true',
      // Benchmarks drive thousands of launches per second from one address: the abuse limits (RATE_LIMIT_*) would measure 429s.
      RATE_LIMIT_ENABLED: 'false',
      ...(options.consumerMaxWaitMs === undefined ? {} : { KAFKA_MAX_WAIT_MS: String(options.consumerMaxWaitMs) }),
      ...env
    }, { envFile: false })
    const app = await buildServer(config)
    cleanups.push(() => app.close())
    await app.listen({ port, host: '127.0.0.1' })
    const now = Date.now()
    await createLti11ConsumersRepository(app.knex).insert({
      name: 'bench', consumerKey: CONSUMER.key, secretEnc: app.secretBox.seal(CONSUMER.secret, CONSUMER_SECRET_CONTEXT), instanceGuid: null,
      contentScope: ['*'], usePii: false, requireUserAccount: false, outcomeHosts: [], pinOutcomeHost: true,
      signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
    })
    // Ready = LTI users loaded and the consumer joined its group.
    const readyBy = Date.now() + 60_000
    while ((await fetch(`${publicUrl}/ready`)).status !== 200) {
      if (Date.now() > readyBy) throw new Error('service not ready within 60 s')
      await sleep(100)
    }

    const producer: Producer = new Kafka({ clientId: 'bench-lms', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING }).producer()
    await producer.connect()
    cleanups.push(() => producer.disconnect())
    const encoder = createWeightedScoreEncoder({ valueSchemaId: 1, keySchemaId: 2 })

    return {
      app,
      lms,
      outcomes,
      async launch (ltiUserId, usage) {
        const path = `/lti_provider/courses/${COURSE}/${usage}`
        const sourcedId = `bench-sourcedid-${ltiUserId}-${usage.split('@').pop() ?? ''}`
        const signed = signLti11Request({
          url: publicUrl + path,
          consumerKey: CONSUMER.key,
          consumerSecret: CONSUMER.secret,
          callback: 'about:blank',
          formParams: [
            ['lti_message_type', 'basic-lti-launch-request'], ['lti_version', 'LTI-1p0'], ['resource_link_id', `link-${sourcedId}`],
            ['user_id', ltiUserId], ['roles', 'Learner'], ['context_id', 'bench-course'],
            ['lis_result_sourcedid', sourcedId], ['lis_outcome_service_url', outcomes.outcomeUrl()]
          ]
        })
        const res = await fetch(publicUrl + path, { method: 'POST', body: new URLSearchParams(signed.formParams.map(([k, v]): [string, string] => [k, v])), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
        if (res.status !== 200) throw new Error(`launch refused: ${res.status} ${await res.text()}`)
        const row = await app.knex('lti_users').where({ lti_user_id: ltiUserId }).first('lms_user_id') as { lms_user_id: number }
        return { ltiUserId, lmsUserId: Number(row.lms_user_id), sourcedId }
      },
      async publish (events) {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: events.map(e => {
            const msg = encoder.encode({
              user_id: e.lmsUserId, course_id: COURSE, usage_id: e.usageKey, weighted_earned: e.earned, weighted_possible: e.possible,
              modified: toPythonIsoformat(new Date(e.modifiedMs)), score_db_table: 'csm', score_deleted: false, anonymous_user_id: null, only_if_higher: null
            }, newEventMetadata())
            return { key: msg.key, value: msg.value, headers: msg.headers }
          })
        })
      },
      pushesFor: sourcedId => outcomes.requests.filter(r => r.body.includes(`<sourcedId>${sourcedId}</sourcedId>`)).length,
      close
    }
  } catch (err) {
    await close()
    throw err
  }
}
