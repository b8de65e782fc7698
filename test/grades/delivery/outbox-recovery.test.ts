/**
 * Durability across processes: a worker killed (SIGKILL) in the middle of a send leaves its job
 * leased; after the lease expires another worker delivers it, once. And two workers sharing one
 * database never send the same job twice (MariaDB: SELECT … FOR UPDATE SKIP LOCKED; SQLite: one
 * connection serialises the claims).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import type { Knex } from 'knex'
import { createSecretBox } from '../../../src/crypto/secret-box.js'
import { createKnex } from '../../../src/db/connection.js'
import { migrateLatest } from '../../../src/db/migrate.js'
import { createOutboxClaims } from '../../../src/db/outbox/claims.js'
import { createJobDelivery } from '../../../src/grades/delivery/job-delivery.js'
import { createLti11OutcomeSender } from '../../../src/grades/delivery/lti11-outcome-sender.js'
import { createOutboxWorker, type OutboxWorker } from '../../../src/grades/outbox-worker.js'
import { createOutboundClient } from '../../../src/http/outbound-client.js'
import { createTestDb, testBackend } from '../../helpers/db.js'
import { queuePassback, seedLti11Target, startFakeLti11OutcomeService, type FakeOutcomeService } from '../../support/fake-lti11-outcome-service.js'

interface Teardown { teardown (fn: () => unknown): void }

const SECRET_KEY = 'outbox-recovery-test-secret-key-0123456789'
const secretBox = createSecretBox(SECRET_KEY)

/** A database two processes can open: the MariaDB test database, or an SQLite file (WAL). */
async function sharedDb (t: Teardown): Promise<{ knex: Knex, url: string }> {
  if (testBackend === 'mariadb') {
    const db = await createTestDb(t)
    return { knex: db.knex, url: db.url }
  }
  const dir = mkdtempSync(join(tmpdir(), 'outbox-recovery-'))
  const url = `sqlite:${join(dir, 'db.sqlite')}`
  const knex = createKnex({ url })
  await migrateLatest(knex)
  t.teardown(async () => {
    await knex.destroy()
    rmSync(dir, { recursive: true, force: true })
  })
  return { knex, url }
}

function worker (t: Teardown, knex: Knex, options: { owner: string, leaseMs?: number, onResult?: (result: string) => void }): OutboxWorker {
  const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true, timeoutMs: 5_000 })
  t.teardown(() => http.close())
  const outbox = createOutboxClaims(knex)
  const delivery = createJobDelivery({
    outbox,
    secretBox,
    lti11: createLti11OutcomeSender({ http }),
    ags: { send: async () => { throw new Error('no LTI 1.3 jobs in this test') } }
  })
  const w = createOutboxWorker({
    outbox,
    delivery,
    maxAttempts: 5,
    perHostConcurrency: 8,
    maxInFlight: 8,
    pollIntervalMs: 5,
    leaseMs: options.leaseMs ?? 60_000,
    owner: options.owner,
    ...(options.onResult === undefined ? {} : { metrics: { observe: result => options.onResult?.(result) } })
  })
  t.teardown(() => w.stop({ graceMs: 0 }))
  return w
}

async function seedJobs (knex: Knex, fake: FakeOutcomeService, n: number): Promise<Array<{ jobId: number, sourcedId: string }>> {
  const out: Array<{ jobId: number, sourcedId: string }> = []
  for (let i = 0; i < n; i++) {
    const target = await seedLti11Target(knex, secretBox, { consumerKey: 'key-1', secret: 'secret-1', outcomeUrl: fake.outcomeUrl(), outcomeHosts: ['127.0.0.1'] })
    out.push({ jobId: await queuePassback(knex, { targetKey: target.targetKey, gradedAssignmentId: target.assignmentId, platformHost: `127.0.0.1:${fake.server.port}` }), sourcedId: target.sourcedId })
  }
  return out
}

async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** A worker in its own process, as the service runs it; it claims with a short lease and sends. */
function spawnWorker (url: string, leaseMs: number) {
  const mod = (path: string) => pathToFileURL(resolve(path)).href
  const modules = {
    connection: mod('src/db/connection.ts'),
    outbox: mod('src/db/outbox/claims.ts'),
    secretBox: mod('src/crypto/secret-box.ts'),
    http: mod('src/http/outbound-client.ts'),
    delivery: mod('src/grades/delivery/job-delivery.ts'),
    lti11: mod('src/grades/delivery/lti11-outcome-sender.ts'),
    worker: mod('src/grades/outbox-worker.ts')
  }
  const script = `
    const m = JSON.parse(process.env.WORKER_MODULES)
    const { createKnex } = await import(m.connection)
    const { createOutboxClaims } = await import(m.outbox)
    const { createSecretBox } = await import(m.secretBox)
    const { createOutboundClient } = await import(m.http)
    const { createJobDelivery } = await import(m.delivery)
    const { createLti11OutcomeSender } = await import(m.lti11)
    const { createOutboxWorker } = await import(m.worker)
    const knex = createKnex({ url: process.env.WORKER_DB_URL })
    const http = createOutboundClient({ mode: 'platform', allowLoopbackHttp: true, timeoutMs: 600000 })
    const outbox = createOutboxClaims(knex)
    const delivery = createJobDelivery({ outbox, secretBox: createSecretBox(process.env.WORKER_SECRET), lti11: createLti11OutcomeSender({ http }), ags: { send: async () => { throw new Error('unused') } } })
    const worker = createOutboxWorker({ outbox, delivery, maxAttempts: 5, perHostConcurrency: 4, pollIntervalMs: 50, leaseMs: Number(process.env.WORKER_LEASE_MS), owner: 'doomed-worker' })
    const claimed = await worker.runOnce()
    process.stdout.write('runOnce returned ' + claimed + '\\n')
    await knex.destroy()
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    env: { ...process.env, WORKER_MODULES: JSON.stringify(modules), WORKER_DB_URL: url, WORKER_SECRET: SECRET_KEY, WORKER_LEASE_MS: String(leaseMs) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const exited = new Promise<NodeJS.Signals | number | null>(resolve => child.on('exit', (code, signal) => resolve(signal ?? code)))
  return { child, exited, output: () => output }
}

t.test('a worker killed mid-send: the job is delivered after its lease expires, with no duplicate', async t => {
  const db = await sharedDb(t)
  const fake = await startFakeLti11OutcomeService({ consumers: { 'key-1': 'secret-1' } })
  t.teardown(() => fake.close())
  const [job] = await seedJobs(db.knex, fake, 1)
  if (job === undefined) throw new Error('no job seeded')
  fake.switches.respondWith({ kind: 'hang' }, 1)

  // Long enough that a loaded CI machine cannot let it expire between the claim and the check below.
  const leaseMs = 12_000
  const doomed = spawnWorker(db.url, leaseMs)
  t.teardown(() => { doomed.child.kill('SIGKILL') })
  await waitFor('the doomed worker to reach the platform', () => fake.requests.length === 1, 30_000).catch(err => {
    throw new Error(`${(err as Error).message}; worker output:\n${doomed.output()}`)
  })
  doomed.child.kill('SIGKILL')
  t.equal(await doomed.exited, 'SIGKILL')
  t.notMatch(doomed.output(), /runOnce returned/, 'killed before it could record anything')

  const row = async () => await db.knex('passbacks').where({ id: job.jobId }).first() as Record<string, unknown>
  const leased = await row()
  t.match(leased, { status: 'delivering', lease_owner: 'doomed-worker', attempts: 1 })
  t.equal(fake.ledger.length, 0, 'the platform never applied the hung request')

  const survivor = worker(t, db.knex, { owner: 'survivor' })
  t.equal(await survivor.runOnce(), 0, 'not claimable while the dead worker still holds the lease')
  await waitFor('the lease to expire', () => Date.now() > Number(leased.lease_until) + 5)
  t.equal(await survivor.runOnce(), 1)
  t.match(await row(), { status: 'delivered', attempts: 2, lease_owner: null })
  t.equal(fake.ledger.length, 1)
  t.equal(fake.ledger[0]?.sourcedId, job.sourcedId)
  t.equal(await survivor.runOnce(), 0)
  t.equal(fake.requests.length, 2, 'one hung request, one delivery')
})

t.test('two workers on one database never send the same job twice', async t => {
  const db = await sharedDb(t)
  const fake = await startFakeLti11OutcomeService({ consumers: { 'key-1': 'secret-1' } })
  t.teardown(() => fake.close())
  const jobs = await seedJobs(db.knex, fake, 80)
  fake.switches.respondWith({ kind: 'slow', delayMs: 5 }, Number.POSITIVE_INFINITY)

  // Separate pools on MariaDB, as two instances would have; SQLite has one connection per file per process.
  const otherKnex = testBackend === 'mariadb' ? createKnex({ url: db.url, poolMax: 5 }) : db.knex
  if (otherKnex !== db.knex) t.teardown(() => otherKnex.destroy())
  const delivered = { a: 0, b: 0 }
  const a = worker(t, db.knex, { owner: 'worker-a', onResult: r => { if (r === 'delivered') delivered.a++ } })
  const b = worker(t, otherKnex, { owner: 'worker-b', onResult: r => { if (r === 'delivered') delivered.b++ } })
  a.start()
  b.start()
  await waitFor('all jobs delivered', async () => {
    const open = await db.knex('passbacks').whereNot('status', 'delivered').count({ n: '*' }).first() as { n: number | string }
    return Number(open.n) === 0
  }, 60_000)
  await Promise.all([a.stop(), b.stop()])

  t.equal(fake.ledger.length, jobs.length)
  t.equal(new Set(fake.ledger.map(r => r.sourcedId)).size, jobs.length, 'each grade exactly once')
  t.equal(delivered.a + delivered.b, jobs.length)
  t.ok(delivered.a > 0 && delivered.b > 0, `both workers took part (${delivered.a} + ${delivered.b})`)
  const attempts = await db.knex('passbacks').select('attempts') as Array<{ attempts: number }>
  t.ok(attempts.every(r => Number(r.attempts) === 1), 'no job was claimed twice')
})

t.test('concurrent claims take disjoint sets of rows', async t => {
  const db = await sharedDb(t)
  const fake = await startFakeLti11OutcomeService({ consumers: { 'key-1': 'secret-1' } })
  t.teardown(() => fake.close())
  await seedJobs(db.knex, fake, 40)
  const otherKnex = testBackend === 'mariadb' ? createKnex({ url: db.url, poolMax: 2 }) : db.knex
  if (otherKnex !== db.knex) t.teardown(() => otherKnex.destroy())
  const claim = (knex: Knex, owner: string) => createOutboxClaims(knex).claimDue({ now: Date.now(), owner, leaseMs: 60_000, scanLimit: 25, choose: c => c.map(x => x.id) })
  const rounds = await Promise.all([claim(db.knex, 'a'), claim(otherKnex, 'b'), claim(db.knex, 'c'), claim(otherKnex, 'd')])
  const ids = rounds.flat().map(j => j.id)
  t.equal(new Set(ids).size, ids.length, 'no row in two claims')
  t.ok(ids.length <= 40)
  const rest = await claim(db.knex, 'e')
  t.equal(ids.length + rest.length, 40, 'every row claimed exactly once in the end')
})
