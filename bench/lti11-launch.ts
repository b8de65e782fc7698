/**
 * LTI 1.1 launch throughput and latency for a returning learner, side by side with a bare Fastify
 * route that parses the same form body (the ceiling of this machine and this HTTP stack).
 *
 *   node --import tsx bench/lti11-launch.ts [--db sqlite|mariadb] [--seconds 10] [--connections 32]
 *
 * The service runs in this process on a loopback port with the fake LMS beside it; autocannon runs
 * in a child process so the client does not share the server's event loop. Each request carries a
 * fresh nonce: the bodies are signed beforehand (by ims-lti, as a consumer would) and used once.
 */
import { fork } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir, cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import formbody from '@fastify/formbody'
import { loadConfig } from '../src/config.js'
import { buildServer } from '../src/server.js'
import { createLti11ConsumersRepository } from '../src/db/repositories/lti11-consumers-repository.js'
import { CONSUMER_SECRET_CONTEXT } from '../src/launch/lti11-launch.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../test/support/fake-lms.js'
import { signLaunchWithImsLti } from '../test/helpers/ims-lti-signer.js'
import { createTestDb } from '../test/helpers/db.js'

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '')
const seconds = Number(args.get('seconds') ?? 10)
const connections = Number(args.get('connections') ?? 32)
if (args.get('db') === 'mariadb') process.env.TEST_DATABASE = 'mariadb'

const PUBLIC_URL = 'https://tool.example.org'
const PATH = `/lti_provider/courses/${DEMO_COURSE_ID}/${usageKey(DEMO_COURSE_ID, 'problem', 'p1')}`
const runner = fileURLToPath(new URL('./support/autocannon-runner.mjs', import.meta.url))

interface Result { requests: number, rps: number, p50: number, p99: number, errors: number, non2xx: number }

async function load (url: string, bodiesFile: string | undefined, body: string | undefined): Promise<Result> {
  return await new Promise((resolve, reject) => {
    const child = fork(runner, [JSON.stringify({ url, seconds, connections, bodiesFile, body })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child.on('message', m => resolve(m as Result))
    child.on('error', reject)
    child.on('exit', code => { if (code !== 0) reject(new Error(`autocannon runner exited ${code}`)) })
  })
}

async function main (): Promise<void> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: 'relay', secret: 'relay-secret', usePii: true }] })
  const db = await createTestDb()
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'warn', PUBLIC_URL, DATABASE_URL: db.url, LMS_URL: lms.url,
    LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: 'relay', LMS_RELAY_CONSUMER_SECRET: 'relay-secret'
  }, { envFile: false })
  const app = await buildServer(config, { knex: db.knex })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  const now = Date.now()
  await createLti11ConsumersRepository(app.knex).insert({
    name: 'bench', consumerKey: 'bench', secretEnc: app.secretBox.seal('bench-secret', CONSUMER_SECRET_CONTEXT), instanceGuid: null,
    contentScope: ['*'], usePii: false, requireUserAccount: false, outcomeHosts: ['canvas.example.edu'], pinOutcomeHost: false,
    signatureMethods: ['HMAC-SHA1'], timestampWindow: 300, active: true, createdAt: now, updatedAt: now
  })
  const launch = {
    lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl', user_id: 'returning-learner',
    roles: 'Learner', context_id: 'ctx', lis_result_sourcedid: 'sid', lis_outcome_service_url: 'https://canvas.example.edu/outcomes'
  }
  // First launch maps the learner and enrolls them: every measured launch is a returning learner.
  const first = await fetch(address + PATH, { method: 'POST', body: signLaunchWithImsLti(PUBLIC_URL + PATH, 'bench', 'bench-secret', launch).body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  if (first.status !== 200) throw new Error(`first launch failed: ${first.status} ${await first.text()}`)

  // Enough pre-signed bodies for the run at a generous rate; each is used once (nonce store).
  const count = Math.min(400_000, seconds * 20_000)
  const dir = mkdtempSync(join(tmpdir(), 'bench-'))
  const bodiesFile = join(dir, 'bodies.json')
  const bodies: string[] = []
  for (let i = 0; i < count; i++) bodies.push(signLaunchWithImsLti(PUBLIC_URL + PATH, 'bench', 'bench-secret', launch).body)
  writeFileSync(bodiesFile, JSON.stringify(bodies))

  const bare = Fastify({ logger: false })
  await bare.register(formbody)
  bare.post('/lti_provider/courses/:c/:u', async (req) => ({ n: Object.keys(req.body as object).length }))
  const bareAddress = await bare.listen({ port: 0, host: '127.0.0.1' })

  const service = await load(address + PATH, bodiesFile, undefined)
  const baseline = await load(bareAddress + PATH, undefined, bodies[0])
  await bare.close()
  await app.close()
  await db.destroy()
  await lms.close()

  const out = {
    benchmark: 'lti11-launch-returning-learner',
    database: db.backend,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    command: `node --import tsx bench/lti11-launch.ts --db ${db.backend} --seconds ${seconds} --connections ${connections}`,
    service,
    bareFastifyFormRoute: baseline,
    ratioToBare: Number((service.rps / baseline.rps).toFixed(3))
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch(err => { console.error(err); process.exit(1) })
