/**
 * LTI 1.1 launch throughput and latency for a returning learner, on SQLite and on MariaDB, side by
 * side with a bare Fastify route that parses the same form body (the ceiling of this machine and
 * this HTTP stack).
 *
 *   node --import tsx bench/lti11-launch.ts [--db sqlite|mariadb|both] [--seconds 8] [--count 40000]
 *       [--connections 32] [--mariadb-url mysql://lti:lti@127.0.0.1:33061] [--profile dir] [--out file]
 *
 * The service runs in this process on a loopback port with the fake LMS beside it; autocannon runs
 * in a child process. Each request carries a fresh nonce: the bodies are signed beforehand (by
 * ims-lti, as a consumer would) and each is sent once; a run ends when they are used up or after
 * `--seconds`. The learner launched once before, so every measured launch is a returning one
 * (nothing to write but the nonce). MariaDB is measured when reachable, else reported as skipped.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import { loadConfig } from '../src/config.js'
import { buildServer } from '../src/server.js'
import { createLti11ConsumersRepository } from '../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../src/launch/lti11/launch.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey, type FakeLms } from '../test/support/fake-lms.js'
import { signLaunchWithImsLti } from '../test/helpers/ims-lti-signer.js'
import { numberArg, parseArgs } from './support/args.js'
import { DEFAULT_MARIADB_URL, MariadbUnreachable, openBenchDb, type BenchBackend } from './support/bench-db.js'
import { runLoad, type LoadResult } from './support/load.js'
import { createWindowProfiler } from './support/profiler.js'
import { emitResult, ratio, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const seconds = numberArg(args, 'seconds', 8)
const count = numberArg(args, 'count', 40_000)
const connections = numberArg(args, 'connections', 32)
const dbArg = args.get('db') ?? 'both'
const backends: BenchBackend[] = dbArg === 'both' ? ['sqlite', 'mariadb'] : [dbArg as BenchBackend]
const mariadbUrl = args.get('mariadb-url') ?? DEFAULT_MARIADB_URL
const profiler = createWindowProfiler('lti11-launch', args.get('profile'))

const PUBLIC_URL = 'https://tool.example.org'
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${usageKey(DEMO_COURSE_ID, 'problem', 'p1')}`
const LAUNCH = {
  lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl', user_id: 'returning-learner',
  roles: 'Learner', context_id: 'ctx', lis_result_sourcedid: 'sid', lis_outcome_service_url: 'https://canvas.example.edu/outcomes'
}
const sign = (): string => signLaunchWithImsLti(PUBLIC_URL + PATH, 'bench', 'bench-secret', LAUNCH).body

interface ServiceRun { backend: BenchBackend, result?: LoadResult, skipped?: string }

async function measureService (backend: BenchBackend, lms: FakeLms): Promise<ServiceRun> {
  let db
  try {
    db = await openBenchDb(backend, mariadbUrl)
  } catch (err) {
    if (err instanceof MariadbUnreachable) return { backend, skipped: 'skipped: not reachable' }
    throw err
  }
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'warn', PUBLIC_URL, DATABASE_URL: db.url, LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: 'relay', LMS_RELAY_CONSUMER_SECRET: 'relay-secret',
    // Benchmarks drive thousands of launches per second from one address: the abuse limits (RATE_LIMIT_*) would measure 429s.
    RATE_LIMIT_ENABLED: 'false'
  }, { envFile: false })
  const app = await buildServer(config)
  try {
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const now = Date.now()
    await createLti11ConsumersRepository(app.knex).insert({
      name: 'bench', consumerKey: 'bench', secretEnc: app.secretBox.seal('bench-secret', CONSUMER_SECRET_CONTEXT), instanceGuid: null,
      contentScope: ['*'], usePii: false, requireUserAccount: false, outcomeHosts: ['canvas.example.edu'], pinOutcomeHost: false,
      signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
    })
    // The first launch maps and enrolls the learner: every measured launch is a returning learner.
    const first = await fetch(address + PATH, { method: 'POST', body: sign(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    if (first.status !== 200) throw new Error(`first launch failed: ${first.status} ${await first.text()}`)

    const warm = Array.from({ length: 3000 }, sign)
    await runLoad({ url: address + PATH, connections, maxSeconds: 2, requests: warm })
    const bodies = Array.from({ length: count }, sign)
    const result = await profiler.run(backend, async () => await runLoad({ url: address + PATH, connections, maxSeconds: seconds, requests: bodies }))
    if (result.non2xx > 0 || result.errors > 0) process.stderr.write(`lti11-launch ${backend}: ${result.non2xx} non-2xx, ${result.errors} errors\n`)
    return { backend, result }
  } finally {
    // Requests still queued when the client stopped finish before the pool goes.
    await sleep(500)
    await app.close()
    await db.drop()
  }
}

async function measureBare (): Promise<LoadResult> {
  const bare = Fastify({ logger: false })
  await bare.register(formbody)
  bare.post('/lti_provider/courses/:c/:u', async (req) => ({ n: Object.keys(req.body as object).length }))
  const address = await bare.listen({ port: 0, host: '127.0.0.1' })
  try {
    const body = sign()
    await runLoad({ url: address + PATH, connections, maxSeconds: 1, body })
    return await runLoad({ url: address + PATH, connections, maxSeconds: Math.min(seconds, 5), body })
  } finally {
    await bare.close()
  }
}

async function main (): Promise<void> {
  const part = startPart('lti11-launch', 'LTI 1.1 launch, returning learner',
    `node --import tsx bench/lti11-launch.ts --db ${dbArg} --seconds ${seconds} --count ${count} --connections ${connections}`)
  const lms = await startFakeLms({ ltiConsumers: [{ key: 'relay', secret: 'relay-secret', usePii: true }] })
  const runs: ServiceRun[] = []
  let bare: LoadResult
  try {
    runs.push(await measureService(backends[0]!, lms))
    bare = await measureBare()
    for (const backend of backends.slice(1)) runs.push(await measureService(backend, lms))
  } finally {
    await lms.close()
  }
  const limit = { name: `bare Fastify form route (${connections} conn.)`, value: bare.rps, unit: 'req/s' }
  const figures: Figure[] = runs.map(run => {
    const name = `LTI 1.1 launch, returning learner, ${run.backend === 'sqlite' ? 'SQLite' : 'MariaDB'}`
    const target = run.backend === 'sqlite' ? '≥ 8,000/s, p99 ≤ 10 ms' : undefined
    if (run.result === undefined) return { name, value: null, unit: 'launches/s', limit, target, met: null, note: run.skipped }
    const r = run.result
    return {
      name,
      value: r.rps,
      unit: 'launches/s',
      extra: `p50 ${r.p50} ms, p99 ${r.p99} ms at ${connections} conn.${r.non2xx + r.errors > 0 ? `; ${r.non2xx} non-2xx, ${r.errors} errors` : ''}`,
      limit,
      ratio: ratio(r.rps, bare.rps),
      target,
      met: target === undefined ? null : r.rps >= 8000 && r.p99 <= 10
    }
  })
  emitResult(part.finish(figures, { runs, bare }), args.get('out'))
}

main().catch(err => { console.error(err); process.exit(1) })
