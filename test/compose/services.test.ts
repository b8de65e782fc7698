import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { contextFor } from '../../src/cli/context.js'
import { buildServices } from '../../src/compose/services.js'
import { stderrLog } from '../../src/cli/stderr-log.js'
import { fullTopicName } from '../../src/events/decode/event-type.js'
import { createOutboundClient, type OutboundClient } from '../../src/http/outbound-client.js'
import { LmsClient } from '../../src/lms/lms-client.js'
import { buildServer } from '../../src/server.js'
import { adminHeaders, testConfig } from '../helpers/build-app.js'
import { createTestDb } from '../helpers/db.js'
import { DEMO_COURSE_ID, startFakeLms, usageKey } from '../support/fake-lms.js'
import { queuePassback } from '../support/fake-lti11-outcome-service.js'
import { createSeeder } from '../support/grade-targets-seed.js'
import { mockKafkaSkipReason, startMockKafka } from '../support/kafka-mock-broker.js'

// A child process boots tsx and joins a Kafka group: slow on a busy machine.
t.setTimeout(300_000)
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const lmsEnv = (url: string) => ({ LMS_URL: url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret', LMS_RELAY_CONSUMER_KEY: 'k', LMS_RELAY_CONSUMER_SECRET: 's' })

t.test('the server builds each shared service once: the launch, the worker and the event pipeline share one LMS client and one outbound client', async t => {
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url, ...lmsEnv(lms.url) })
  const made: { lms: LmsClient[], outbound: OutboundClient[] } = { lms: [], outbound: [] }
  const app = await buildServer(config, {
    knex: db.knex,
    overrides: {
      lmsClient: c => { const client = new LmsClient({ lmsUrl: c.LMS_URL!, clientId: c.LMS_CLIENT_ID!, clientSecret: c.LMS_CLIENT_SECRET!, retries: 0 }); made.lms.push(client); return client },
      outbound: c => { const client = createOutboundClient({ mode: 'platform', allowLoopbackHttp: c.OUTBOUND_ALLOW_LOOPBACK_HTTP, timeoutMs: 2000, maxBytes: 65536 }); made.outbound.push(client); return client }
    }
  })
  await app.ready()
  t.teardown(() => app.close())
  const s = app.services

  t.equal(made.lms.length, 1, 'one LMS client for the process')
  t.equal(made.outbound.length, 1, 'one platform-mode outbound client for the process')
  t.equal(app.lmsClient, made.lms[0])
  t.equal(app.outbound, made.outbound[0])
  t.equal(app.lti11Launch, s.launch.lti11)
  t.equal(app.lti13, s.lti13)
  t.equal(app.launchAccounts, s.launch.accounts)
  t.equal(app.passbackWorker, s.passbackWorker)
  t.equal(app.metrics, s.metrics)
  t.equal(app.secretBox, s.secretBox)
  t.equal(app.toolKeys, s.toolKeys)
  t.equal(app.relevantUsers, s.relevantUsers)
  t.equal(s.eventPipeline.relevantUsers, s.relevantUsers, 'the pipeline judges relevance on the set the launches feed')
  t.equal(new Set(s.built()).size, s.built().length, 'nothing built twice')

  // One client means one service token: the launch side and the worker side ask the LMS for it once.
  const learner = lms.state.addUser({ username: 'learner1', email: 'l1@example.com' })
  lms.state.enroll(learner.username, DEMO_COURSE_ID)
  lms.state.setProblemScore(learner.username, usageKey(DEMO_COURSE_ID, 'problem', 'p1'), 1, 1)
  await app.launchAccounts!.ensureEnrolled({ lmsUserId: learner.id, lmsUsername: learner.username, lmsEmail: 'l1@example.com' }, DEMO_COURSE_ID)
  const score = await s.compositeScorer!.computeComposite({ lmsUserId: learner.id, lmsUsername: learner.username, courseKey: DEMO_COURSE_ID, usageKey: usageKey(DEMO_COURSE_ID, 'sequential', 'homework1') })
  t.match(score, { earned: 1, possible: 7 }, 'the worker\'s scorer reached the LMS')
  t.equal(lms.state.requests.filter(r => r.route === 'token').length, 1, 'one service token shared by launch and worker')

  // The one new-learner fan-out: the relevance set and every subscriber hear of each first-time learner.
  const heard: number[] = []
  app.launchEvents.onNewLearner.push(id => heard.push(id))
  s.launch.announceNewLearner(77)
  t.same(heard, [77])
  t.ok(s.relevantUsers.has(77))
})

t.test('overrides apply: clock, composite scorer, relevance source', async t => {
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url })
  const seed = createSeeder(db.knex)
  await seed.lti11User({ lmsUserId: 42, lmsUsername: 'learner42' })
  const scorer = { computeComposite: async () => { throw new Error('not called') } }
  let pages = 0
  const services = buildServices({
    config,
    knex: db.knex,
    log: stderrLog(),
    overrides: {
      now: () => 1_700_000_000_000,
      compositeScorer: scorer,
      relevantUserSource: { async page () { pages++; return [] } }
    }
  })
  t.teardown(() => services.close())
  t.equal(services.lmsClient, undefined, 'no LMS_URL: no LMS client')
  t.equal(services.compositeScorer, scorer, 'the given scorer, although there is no LMS')
  const created = await services.admin.consumers.create({ name: 'Clocked', key: 'clocked', secret: 'a-secret-of-enough-length-0123456789' })
  t.equal(new Date(created.createdAt).getTime(), 1_700_000_000_000, 'the admin services run on the given clock')
  await services.relevantUsers.load()
  t.ok(pages > 0, 'the relevance set read the given source')
  t.notOk(services.relevantUsers.has(42), 'and not the identity tables')
})

t.test('the CLI context builds only what the command uses, and closes it', async t => {
  const db = await createTestDb(t)
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const config = testConfig({ DATABASE_URL: db.url, ...lmsEnv(lms.url) })
  let closed = 0
  const withContext = contextFor({
    config,
    knex: db.knex,
    overrides: {
      lmsClient: c => {
        const client = new LmsClient({ lmsUrl: c.LMS_URL!, clientId: c.LMS_CLIENT_ID!, clientSecret: c.LMS_CLIENT_SECRET! })
        const close = client.close.bind(client)
        client.close = async () => { closed++; await close() }
        return client
      }
    }
  })
  const built = await withContext(async ({ services }) => { await services.admin.consumers.list(); return services.built() })
  t.same(built, ['secretBox', 'admin'], 'an admin command opens no client and no consumer')
  t.equal(closed, 0)
  await withContext(async ({ services }) => { void services.compositeScorer })
  t.equal(closed, 1, 'the LMS client a command used is closed after it')
  t.equal(Number((await db.knex('passbacks').count({ n: '*' }))[0]?.n), 0, 'the caller\'s pool is left open')
})

t.test('feature switches: no worker, no admin API, without re-listing plugins', async t => {
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url, PASSBACK_WORKER_ENABLED: 'true', PASSBACK_POLL_INTERVAL_MS: '20' })
  const off = await buildServer(config, { knex: db.knex, features: { worker: false, admin: false } })
  await off.ready()
  t.teardown(() => off.close())
  t.equal((await off.inject({ url: '/admin/api/v1/lti11/consumers', headers: adminHeaders })).statusCode, 404, 'admin API off')
  const id = await queuePassback(db.knex, { targetKey: 'a:1' })
  off.passbackWorker.kick()
  await new Promise(resolve => setTimeout(resolve, 150))
  t.match(await db.knex('passbacks').where({ id }).first(), { status: 'pending', attempts: 0 }, 'the worker was not started')

  const on = await buildServer(config, { knex: db.knex })
  await on.ready()
  t.teardown(() => on.close())
  t.equal((await on.inject({ url: '/admin/api/v1/lti11/consumers', headers: adminHeaders })).statusCode, 200, 'admin API on by default with ADMIN_TOKEN')
})

/**
 * Runs test/support/compose-services-child.ts; resolves with its output and exit code, 'still running' when
 * it is alive `waitMs` after it started everything, or 'never started' after two minutes without.
 */
function runChild (env: Record<string, string>, close: boolean, waitMs: number): Promise<{ out: string, err: string, code: number | null | 'still running' | 'never started' }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/support/compose-services-child.ts')], {
    cwd: ROOT,
    env: { ...process.env, CHILD_ENV: JSON.stringify(env), CLOSE: close ? 'yes' : 'no' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { err = (err + chunk).slice(-4000) })
  return new Promise(resolve => {
    // The wait starts once everything runs, so a slow start is not mistaken for a hang.
    let timer: NodeJS.Timeout | undefined
    const arm = setInterval(() => {
      if (timer === undefined && out.includes('STARTED')) timer = setTimeout(() => { child.kill('SIGKILL'); resolve({ out, err, code: 'still running' }) }, waitMs)
    }, 20)
    const cap = setTimeout(() => { if (timer === undefined) { child.kill('SIGKILL'); resolve({ out, err, code: 'never started' }) } }, 120_000)
    child.once('exit', code => { clearInterval(arm); clearTimeout(cap); if (timer) clearTimeout(timer); resolve({ out, err, code }) })
  })
}

t.test('close() releases everything the services built: a process that started them all ends by itself', { skip: mockKafkaSkipReason() }, async t => {
  const prefix = `c${Date.now().toString(36)}`
  const broker = await startMockKafka({ topics: [{ topic: fullTopicName(prefix), partitions: 1 }] })
  t.teardown(broker.stop)
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const dir = mkdtempSync(join(tmpdir(), 'lti-compose-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const env = {
    DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
    KAFKA_BROKERS: broker.bootstrap.join(','),
    KAFKA_GROUP_ID: `${prefix}-group`,
    EVENT_BUS_TOPIC_PREFIX: prefix,
    ...lmsEnv(lms.url)
  }

  const closed = await runChild(env, true, 20_000)
  t.match(closed.out, /STARTED running /, closed.err)
  const built = /STARTED \S+ (\S+)/.exec(closed.out)?.[1]?.split(',') ?? []
  for (const name of ['lmsClient', 'outbound', 'passbackWorker', 'relevantUsers', 'eventPipeline', 'eventConsumer', 'admin']) {
    t.ok(built.includes(name), `${name} was built`)
  }
  t.match(closed.out, /CLOSED/)
  t.equal(closed.code, 0, 'exited by itself, with nothing left open')

  // The check can fail: the same process without close() keeps running.
  const leaked = await runChild(env, false, 3_000)
  t.match(leaked.out, /STARTED running /, leaked.err)
  t.equal(leaked.code, 'still running', 'without close() the consumer keeps the process alive')
})
