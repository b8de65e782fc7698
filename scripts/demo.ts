/**
 * `npm run demo`: the whole loop on this machine, on embedded defaults.
 *
 * Starts a Kafka-protocol broker (librdkafka's mock cluster), a Schema Registry fake, a fake Open edX
 * LMS, a fake LTI 1.1 consumer (its outcome service) and a fake LTI 1.3 platform (auth endpoint,
 * JWKS, AGS token and scores endpoints), then the service itself on SQLite. It registers the
 * platforms through the admin API, performs one launch of each kind, publishes score events in the
 * Open edX wire format and waits for both grades to land in the fake gradebooks.
 * Exits 0 only if both grades arrived; leaves nothing running.
 *
 * `npm run demo -- --bus redis`: the event bus is Redis Streams as on a default Tutor install
 * (a throwaway redis-server, topic prefix `dev`, entries written as edx-event-bus-redis writes them).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../src/config.js'
import { buildServer } from '../src/server.js'
import { signLti11Request } from '../src/lti/v11/oauth-sign.js'
import { Scope, ServiceClaim } from '../src/lti/claims.js'
import { contentTargetLinkUri } from '../src/lti/v13/tool-urls.js'
import { createWeightedScoreEncoder, newEventMetadata } from '../src/events/decode/index.js'
import { toPythonIsoformat } from '../src/events/decode/python-isoformat.js'
import { bundledSchemaText } from '../src/events/decode/bundled-schema.js'
import { startMockKafka, type MockKafka } from '../test/support/kafka-mock-broker.js'
import { Redis } from 'ioredis'
import { createRedisEntryEncoder, xaddArgs } from '../src/events/redis/redis-entry-encoder.js'
import { startRedisServer, type RedisServer } from '../test/support/redis-server.js'
import { startFakeSchemaRegistry } from '../test/support/fake-schema-registry.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../test/support/fake-lms.js'
import { startFakeLti11OutcomeService } from '../test/support/fake-lti11-outcome-service.js'
import { startFakeAgsPlatform } from '../test/support/fake-ags-platform.js'
import { startFakeLti13Platform, parseAutoSubmitForm } from '../test/support/fake-lti13-platform.js'
import { parseAutoSubmit as formFields } from '../test/helpers/ims-lti-signer.js'

const started = Date.now()
const cleanups: Array<() => Promise<unknown> | unknown> = []
const say = (line: string): void => { process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}\n`) }

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

async function waitFor<T> (what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function adminPost (base: string, token: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/admin/api/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const json = await res.json() as Record<string, unknown>
  if (res.status !== 201) throw new Error(`admin ${path}: ${res.status} ${JSON.stringify(json)}`)
  return json
}


async function main (): Promise<boolean> {
  const COURSE = DEMO_COURSE_ID
  const PROBLEM = usageKey(COURSE, 'problem', 'p1')
  const TOPIC = 'learning-problem-score-lifecycle'
  const VALUE_SCHEMA_ID = 1
  const KEY_SCHEMA_ID = 2

  const busArg = process.argv.indexOf('--bus')
  const bus = busArg >= 0 ? process.argv[busArg + 1] : 'kafka'
  if (bus !== 'kafka' && bus !== 'redis') throw new Error(`--bus must be kafka or redis, not ${String(bus)}`)
  let kafka: MockKafka | undefined
  let redis: RedisServer | undefined
  // Tutor's defaults: the LMS writes to Redis with the topic prefix `dev`.
  const STREAM = `dev-${TOPIC}`
  if (bus === 'redis') {
    say('starting redis-server (the event bus of a default Tutor install)')
    try {
      redis = await startRedisServer()
    } catch (err) {
      process.stderr.write(`\nThe Redis demo needs redis-server: ${(err as Error).message}\nInstall it with: sudo apt-get install -y redis-server\n`)
      return false
    }
    const server = redis
    cleanups.push(() => server.destroy())
    say(`  redis at ${redis.url}, stream ${STREAM}`)
  } else {
    say('starting the Kafka-protocol broker (librdkafka mock cluster)')
    try {
      kafka = await startMockKafka({ brokers: 1, topics: [{ topic: TOPIC, partitions: 3 }] })
    } catch (err) {
      process.stderr.write(`\nThe demo needs librdkafka's mock cluster: ${(err as Error).message}\n` +
        'Install it with: sudo apt-get install -y librdkafka1   (Debian/Ubuntu)\n' +
        'or point KAFKA_TEST_BROKERS at a running Kafka (e.g. the one in docker-compose.yml).\n')
      return false
    }
    const broker = kafka
    cleanups.push(() => broker.stop())
    say(`  broker at ${kafka.bootstrap.join(',')}`)
  }

  const registry = await startFakeSchemaRegistry({ schemas: { [VALUE_SCHEMA_ID]: bundledSchemaText() } })
  cleanups.push(() => registry.close())
  say(`Schema Registry fake at ${registry.url}`)

  const relay = { key: 'demo-relay', secret: randomBytes(16).toString('hex') }
  const lms = await startFakeLms({ ltiConsumers: [{ key: relay.key, secret: relay.secret, usePii: true }] })
  cleanups.push(() => lms.close())
  say(`fake Open edX LMS at ${lms.url}`)

  const lti11 = { key: 'demo-canvas', secret: randomBytes(16).toString('hex') }
  const outcomes = await startFakeLti11OutcomeService({ consumers: { [lti11.key]: lti11.secret } })
  cleanups.push(() => outcomes.close())
  say(`fake LTI 1.1 consumer (outcome service) at ${outcomes.origin}`)

  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const platform = await startFakeLti13Platform({ redirectUris: [`${publicUrl}/lti/1.3/launch`] })
  cleanups.push(() => platform.close())
  const ags = await startFakeAgsPlatform({
    clientId: platform.clientId,
    toolJwks: async () => await (await fetch(`${publicUrl}/lti/1.3/jwks`)).json() as { keys: [] }
  })
  cleanups.push(() => ags.close())
  say(`fake LTI 1.3 platform at ${platform.issuer} (AGS at ${new URL(ags.tokenUrl).origin})`)

  const dir = mkdtempSync(join(tmpdir(), 'lti-provider-demo-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const adminToken = randomBytes(24).toString('hex')
  const config = loadConfig({
    NODE_ENV: 'demo',
    LOG_LEVEL: process.env.DEMO_LOG_LEVEL ?? 'warn',
    PORT: String(port),
    PUBLIC_URL: publicUrl,
    DATABASE_URL: `sqlite:${join(dir, 'demo.sqlite')}`,
    ADMIN_TOKEN: adminToken,
    LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client',
    LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: relay.key,
    LMS_RELAY_CONSUMER_SECRET: relay.secret,
    ...(kafka
      ? {
          KAFKA_BROKERS: kafka.bootstrap.join(','),
          // The mock broker holds an empty fetch for the whole long-poll even when an event arrives meanwhile.
          KAFKA_MAX_WAIT_MS: '50',
          SCHEMA_REGISTRY_URL: registry.url
        }
      : { REDIS_URL: redis!.url, EVENT_BUS_TOPIC_PREFIX: 'dev', REDIS_BLOCK_MS: '200' }),
    OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true',
    PASSBACK_POLL_INTERVAL_MS: '200',
    KEY_ROTATION_GRACE_SECONDS: '0'
  }, { envFile: false })
  const app: FastifyInstance = await buildServer(config)
  cleanups.push(() => app.close())
  await app.listen({ port, host: '127.0.0.1' })
  say(`openedx-lti-provider listening at ${publicUrl} (SQLite in ${dir})`)
  await waitFor('the service to be ready', async () => ((await fetch(`${publicUrl}/ready`)).status === 200 ? true : undefined))

  say('registering the platforms through the admin API')
  const consumer = await adminPost(publicUrl, adminToken, '/lti11/consumers', {
    name: 'Demo Canvas (LTI 1.1)', key: lti11.key, secret: lti11.secret, contentScope: ['course-v1:OpenedX+*']
  })
  const registration = await adminPost(publicUrl, adminToken, '/lti13/registrations', {
    name: 'Demo Open edX platform (LTI 1.3)', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: ags.tokenUrl, jwksUrl: platform.jwksUrl, deploymentIds: [platform.deploymentId], contentScope: ['course-v1:OpenedX+*']
  })
  say(`  LTI 1.1 consumer #${String(consumer.id)}, LTI 1.3 registration #${String(registration.id)}`)

  // ---- LTI 1.1 launch: signed as a consumer would, then the relay form followed to the LMS.
  const launchPath = `/lti_provider/courses/${COURSE}/${PROBLEM}`
  const signed = signLti11Request({
    url: publicUrl + launchPath,
    consumerKey: lti11.key,
    consumerSecret: lti11.secret,
    callback: 'about:blank',
    formParams: [
      ['lti_message_type', 'basic-lti-launch-request'], ['lti_version', 'LTI-1p0'], ['resource_link_id', 'demo-link-1'],
      ['user_id', 'canvas-learner-1'], ['roles', 'Learner'], ['context_id', 'canvas-course-1'],
      ['lis_result_sourcedid', 'demo-sourcedid-1'], ['lis_outcome_service_url', outcomes.outcomeUrl()]
    ]
  })
  const launch11 = await fetch(publicUrl + launchPath, { method: 'POST', body: new URLSearchParams(signed.formParams.map(([k, v]): [string, string] => [k, v])), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  if (launch11.status !== 200) throw new Error(`LTI 1.1 launch refused: ${launch11.status} ${await launch11.text()}`)
  const relay11 = formFields(await launch11.text())
  const lmsAnswer11 = await fetch(relay11.action, { method: 'POST', body: new URLSearchParams(relay11.fields), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' })
  const lmsUser11 = lms.state.relayLaunches.at(-1)?.username
  say(`LTI 1.1 launch accepted; the LMS logged in ${lmsUser11 ?? '?'} on ${PROBLEM} (LMS answered ${lmsAnswer11.status})`)

  // ---- LTI 1.3 launch: OIDC login → platform auth → id_token form_post → relay to the LMS.
  const lineitem = ags.lineitemUrl(1)
  const loginParams = platform.loginInitiation({
    userId: 'openedx-platform-learner-1',
    targetLinkUri: contentTargetLinkUri(publicUrl, COURSE, PROBLEM),
    claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore, Scope.agsLineItemReadonly], lineitem } }
  })
  const login = await fetch(`${publicUrl}/lti/1.3/login?${new URLSearchParams(loginParams)}`, { redirect: 'manual' })
  const location = login.headers.get('location')
  if (login.status !== 302 || !location) throw new Error(`LTI 1.3 login refused: ${login.status} ${await login.text()}`)
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? ''
  const auth = await fetch(location, { redirect: 'manual' })
  const post = parseAutoSubmitForm(await auth.text())
  const launch13 = await fetch(post.action, { method: 'POST', body: new URLSearchParams(post.fields), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie } })
  if (launch13.status !== 200) throw new Error(`LTI 1.3 launch refused: ${launch13.status} ${await launch13.text()}`)
  const relay13 = formFields(await launch13.text())
  await fetch(relay13.action, { method: 'POST', body: new URLSearchParams(relay13.fields), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' })
  say(`LTI 1.3 launch accepted; the LMS logged in ${lms.state.relayLaunches.at(-1)?.username ?? '?'} on ${PROBLEM}`)

  // ---- The learners answer the problem: the LMS publishes PROBLEM_WEIGHTED_SCORE_CHANGED.
  const learners = [
    ...(await app.knex('lti_users').select('lms_user_id')).map(r => Number(r.lms_user_id)),
    ...(await app.knex('lti_profiles').select('lms_user_id')).map(r => Number(r.lms_user_id))
  ]
  const encoder = createWeightedScoreEncoder({ valueSchemaId: VALUE_SCHEMA_ID, keySchemaId: KEY_SCHEMA_ID })
  const producer = kafka ? new Kafka({ clientId: 'demo-lms', brokers: kafka.bootstrap, logLevel: logLevel.NOTHING }).producer() : undefined
  const redisLms = redis ? new Redis(redis.url) : undefined
  const redisEntry = createRedisEntryEncoder()
  await producer?.connect()
  cleanups.push(() => producer?.disconnect())
  cleanups.push(() => redisLms?.disconnect())
  const eventSent = Date.now()
  for (const [i, userId] of learners.entries()) {
    const event = {
      user_id: userId, course_id: COURSE, usage_id: PROBLEM, weighted_earned: 2, weighted_possible: 3,
      modified: toPythonIsoformat(new Date()), score_db_table: 'csm', score_deleted: false, anonymous_user_id: null, only_if_higher: null
    }
    if (producer) {
      const msg = encoder.encode(event, newEventMetadata())
      await producer.send({ topic: TOPIC, messages: [{ key: msg.key, value: msg.value, headers: msg.headers }] })
    } else {
      // As edx-event-bus-redis: XADD <stream> MAXLEN ~ 10000 * type … event_data <bare Avro>.
      await redisLms!.call('XADD', ...xaddArgs(STREAM, redisEntry(event, newEventMetadata())))
    }
    say(`score event published ${producer ? `on Kafka topic ${TOPIC}` : `on Redis stream ${STREAM}`} for LMS user ${userId}: 2 of 3 points on the problem (${i + 1}/${learners.length})`)
  }

  // ---- Grades arrive in both gradebooks.
  let ok = true
  try {
    const pox = await waitFor('the LTI 1.1 grade', () => outcomes.ledger.at(-1))
    say(`LTI 1.1 gradebook received replaceResult score ${pox.score} for ${pox.sourcedId} (${Date.now() - eventSent} ms after the event)`)
  } catch (err) { ok = false; say(`FAILED: ${(err as Error).message}`) }
  try {
    const score = await waitFor('the LTI 1.3 AGS score', () => ags.scores.at(-1))
    say(`LTI 1.3 gradebook received AGS score ${score.scoreGiven}/${score.scoreMaximum} for ${score.userId} (${Date.now() - eventSent} ms after the event)`)
  } catch (err) { ok = false; say(`FAILED: ${(err as Error).message}`) }

  const jobs = await app.knex('passbacks').select('kind', 'status')
  process.stdout.write('\nSummary\n')
  process.stdout.write(`  launches:    LTI 1.1 ✓, LTI 1.3 ✓ (learners landed in ${PROBLEM})\n`)
  process.stdout.write(`  events:      ${learners.length} published on ${kafka ? `Kafka topic ${TOPIC}` : `Redis stream ${STREAM}`}\n`)
  process.stdout.write(`  passbacks:   ${jobs.map(j => `${String(j.kind)} ${String(j.status)}`).join(', ')}\n`)
  process.stdout.write(`  gradebooks:  LTI 1.1 ${outcomes.ledger.length ? '✓' : '✗'}, LTI 1.3 ${ags.scores.length ? '✓' : '✗'}\n`)
  process.stdout.write(ok ? '\nDemo passed: both grades arrived.\n' : '\nDemo FAILED: see above.\n')
  return ok
}

async function cleanup (): Promise<void> {
  for (const fn of cleanups.reverse()) {
    try { await fn() } catch { /* best effort: everything is local and temporary */ }
  }
}

main().then(async ok => {
  await cleanup()
  process.exit(ok ? 0 : 1)
}, async err => {
  process.stderr.write(`\nDemo FAILED: ${(err as Error).stack ?? String(err)}\n`)
  await cleanup()
  process.exit(1)
})
