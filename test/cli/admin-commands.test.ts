import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Knex } from 'knex'
import { runCli } from '../../src/cli/main.js'
import { createKnex } from '../../src/db/connection.js'
import { createSecretBox } from '../../src/crypto/secret-box.js'
import { INSECURE_DEV_SECRET } from '../../src/config.js'
import { buildServer } from '../../src/server.js'
import { createTestDb, testBackend } from '../helpers/db.js'
import { adminHeaders, testConfig } from '../helpers/build-app.js'

const SECRET = 'cli-secret-value-3c9d1e'
const NEW_SECRET = 'cli-replaced-secret-77aa0b'
const ENV_KEYS = ['NODE_ENV', 'DATABASE_URL', 'PUBLIC_URL', 'OUTBOUND_ALLOW_LOOPBACK_HTTP', 'LOG_LEVEL', 'SECRET_KEY', 'ADMIN_TOKEN', 'DATABASE_MIGRATE_ON_START'] as const

interface Run { code: number, out: string, err: string }

/** runCli in this process, with stdout/stderr captured (after letting tap flush its own output). */
async function cli (args: string[]): Promise<Run> {
  await new Promise(resolve => setImmediate(resolve))
  const out: string[] = []
  const err: string[] = []
  const stdout = process.stdout.write
  const stderr = process.stderr.write
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true }) as typeof process.stderr.write
  let code: number
  try {
    code = await runCli(args)
  } finally {
    process.stdout.write = stdout
    process.stderr.write = stderr
  }
  return { code, out: out.join(''), err: err.join('') }
}

async function setUp (t: Test): Promise<{ url: string, dir: string, knex: Knex }> {
  const dir = mkdtempSync(join(tmpdir(), 'lti-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let url: string
  if (testBackend === 'mariadb') {
    url = (await createTestDb(t)).url
  } else {
    url = `sqlite:${join(dir, 'cli.sqlite')}`
  }
  const saved = Object.fromEntries(ENV_KEYS.map(k => [k, process.env[k]]))
  t.teardown(() => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  })
  for (const k of ENV_KEYS) delete process.env[k]
  Object.assign(process.env, { NODE_ENV: 'test', DATABASE_URL: url, PUBLIC_URL: 'https://tool.example.org', OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true' })
  const migrated = await cli(['migrate'])
  t.equal(migrated.code, 0, migrated.err)
  const knex = createKnex({ url })
  t.teardown(() => knex.destroy())
  return { url, dir, knex }
}

t.test('consumers: add, list, show, update, remove; errors exit non-zero', async t => {
  const { dir, knex } = await setUp(t)
  const secretFile = join(dir, 'secret.txt')
  writeFileSync(secretFile, SECRET + '\n')
  const outputs: string[] = []
  const run = async (args: string[]) => { const r = await cli(args); outputs.push(r.out, r.err); return r }

  const added = await run(['consumers', 'add', '--name', 'Moodle', '--key', 'moodle', '--secret-file', secretFile,
    '--content-scope', 'course-v1:MITx+*', '--content-scope', 'course-v1:HarvardX+*', '--use-pii', '--outcome-host', 'Moodle.Example.edu',
    '--signature-method', 'HMAC-SHA256', '--timestamp-window', '120', '--json'])
  t.equal(added.code, 0, added.err)
  const consumer = JSON.parse(added.out)
  t.match(consumer, { id: Number, name: 'Moodle', key: 'moodle', hasSecret: true, contentScope: ['course-v1:MITx+*', 'course-v1:HarvardX+*'], usePii: true, outcomeHosts: ['moodle.example.edu'], signatureMethods: ['HMAC-SHA1', 'HMAC-SHA256'], timestampWindow: 120, active: true })
  const box = createSecretBox(INSECURE_DEV_SECRET)
  const row = await knex('lti11_consumers').where({ id: consumer.id }).first()
  t.equal(box.open(row.secret_enc, 'lti11_consumers.secret'), SECRET, 'the file\'s trailing newline is not part of the secret')

  const dup = await run(['consumers', 'add', '--name', 'Again', '--key', 'moodle', '--secret', NEW_SECRET])
  t.equal(dup.code, 1)
  t.match(dup.err, /^error ADMIN_DUPLICATE_CONSUMER_KEY: /)
  const noSecret = await run(['consumers', 'add', '--name', 'X', '--key', 'x'])
  t.equal(noSecret.code, 1)
  t.match(noSecret.err, /^error ADMIN_INVALID_FIELDS: .*\n  --secret: give --secret or --secret-file/)
  const badWindow = await run(['consumers', 'add', '--name', 'X', '--key', 'x', '--secret', 'a-long-enough-secret', '--timestamp-window', '5'])
  t.equal(badWindow.code, 1)
  t.match(badWindow.err, /\n  --timestamp-window: must be >= 30/)
  t.notMatch(badWindow.err, /timestampWindow/, 'the flag a person typed, not the field name')
  const badScope = await run(['consumers', 'add', '--name', 'X', '--key', 'x', '--secret', 'a-long-enough-secret', '--content-scope', 'MITx/6.002x/2012'])
  t.match(badScope.err, /\n  --content-scope: /)
  t.equal(Number((await knex('lti11_consumers').count({ n: '*' }).first())?.n), 1, 'failed commands wrote nothing')

  const list = await run(['consumers', 'list', '--json'])
  t.same(JSON.parse(list.out).map((c: { key: string }) => c.key), ['moodle'])
  const table = await run(['consumers', 'list'])
  t.match(table.out, /^id\s+name\s+key\s+active/)
  t.match(table.out, /moodle/)
  const shown = await run(['consumers', 'show', String(consumer.id)])
  t.match(shown.out, /^id:\s+\d+$/m)
  t.match(shown.out, /hasSecret:\s+true/)
  const unknown = await run(['consumers', 'show', '999'])
  t.equal(unknown.code, 1)
  t.match(unknown.err, /^error ADMIN_NOT_FOUND: No consumer with id 999/)
  const badId = await run(['consumers', 'show', 'abc'])
  t.equal(badId.code, 1)
  t.match(badId.err, /ADMIN_INVALID_FIELDS[\s\S]*\n  <id>: must be a positive integer id/)

  const updated = await run(['consumers', 'update', String(consumer.id), '--name', 'Moodle 4', '--secret', NEW_SECRET, '--no-content-scope', '--no-use-pii', '--no-active', '--json'])
  t.equal(updated.code, 0, updated.err)
  t.match(JSON.parse(updated.out), { name: 'Moodle 4', contentScope: [], usePii: false, active: false, outcomeHosts: ['moodle.example.edu'], timestampWindow: 120 })
  const afterRow = await knex('lti11_consumers').where({ id: consumer.id }).first()
  t.equal(box.open(afterRow.secret_enc, 'lti11_consumers.secret'), NEW_SECRET)
  const emptyUpdate = await run(['consumers', 'update', String(consumer.id)])
  t.equal(emptyUpdate.code, 1, 'an update without changes is refused')

  for (const text of outputs) {
    t.notMatch(text, SECRET)
    t.notMatch(text, NEW_SECRET)
  }

  const removed = await run(['consumers', 'remove', String(consumer.id), '--json'])
  t.same(JSON.parse(removed.out), { removed: true, id: consumer.id })
  t.equal((await run(['consumers', 'remove', String(consumer.id)])).code, 1)
})

t.test('registrations and deployments; the API sees what the CLI wrote', async t => {
  const { url, knex } = await setUp(t)
  const consumer = JSON.parse((await cli(['consumers', 'add', '--name', 'Old', '--key', 'old', '--secret', 'a-long-enough-secret', '--json'])).out)

  const added = await cli(['registrations', 'add', '--name', 'Canvas', '--issuer', 'https://canvas.instructure.com', '--client-id', '10000000000042',
    '--auth-login-url', 'https://sso.canvaslms.com/api/lti/authorize_redirect', '--auth-token-url', 'https://sso.canvaslms.com/login/oauth2/token',
    '--jwks-url', 'https://sso.canvaslms.com/api/lti/security/jwks', '--deployment', '1:abc', '--deployment', '2', '--content-scope', '*', '--json'])
  t.equal(added.code, 0, added.err)
  const reg = JSON.parse(added.out)
  t.match(reg, { issuer: 'https://canvas.instructure.com', clientId: '10000000000042', deploymentPolicy: 'strict', contentScope: ['*'] })
  t.same(reg.deployments.map((d: { deploymentId: string }) => d.deploymentId), ['1:abc', '2'])
  t.same(reg.tool, {
    loginUrl: 'https://tool.example.org/lti/1.3/login',
    redirectUri: 'https://tool.example.org/lti/1.3/launch',
    jwksUrl: 'https://tool.example.org/lti/1.3/jwks',
    targetLinkUriTemplate: 'https://tool.example.org/lti/1.3/courses/{course_id}/{usage_id}',
    deepLinkingUrl: 'https://tool.example.org/lti/1.3/deep-linking/launch'
  })
  const human = await cli(['registrations', 'show', String(reg.id)])
  t.match(human.out, /enter these on the platform:\nloginUrl:\s+https:\/\/tool\.example\.org\/lti\/1\.3\/login/)

  const insecure = await cli(['registrations', 'add', '--name', 'X', '--issuer', 'http://platform.example.edu', '--client-id', 'c',
    '--auth-login-url', 'https://p.example/a', '--auth-token-url', 'https://p.example/t', '--jwks-url', 'https://p.example/j'])
  t.equal(insecure.code, 1)
  t.match(insecure.err, /ADMIN_INVALID_FIELDS[\s\S]*\n  --issuer: /)
  const dup = await cli(['registrations', 'add', '--name', 'Again', '--issuer', 'https://canvas.instructure.com', '--client-id', '10000000000042',
    '--auth-login-url', 'https://p.example/a', '--auth-token-url', 'https://p.example/t', '--jwks-url', 'https://p.example/j', '--deployment', 'x'])
  t.match(dup.err, /^error ADMIN_DUPLICATE_REGISTRATION/)

  t.equal((await cli(['registrations', 'deployments', 'add', String(reg.id), '3'])).code, 0)
  const dupDeployment = await cli(['registrations', 'deployments', 'add', String(reg.id), '3'])
  t.match(dupDeployment.err, /ADMIN_DUPLICATE_DEPLOYMENT/)
  const removedDeployment = await cli(['registrations', 'deployments', 'remove', String(reg.id), '1:abc', '--json'])
  t.same(JSON.parse(removedDeployment.out), { removed: true, registrationId: reg.id, deploymentId: '1:abc' })

  const updated = await cli(['registrations', 'update', String(reg.id), '--deployment-policy', 'record', '--algorithm', 'RS256', '--algorithm', 'ES256',
    '--lti11-consumer', String(consumer.id), '--token-max-age', '90', '--allow-anonymous', '--json'])
  t.equal(updated.code, 0, updated.err)
  t.match(JSON.parse(updated.out), { deploymentPolicy: 'record', allowedAlgorithms: ['RS256', 'ES256'], lti11ConsumerId: consumer.id, tokenMaxAge: 90, allowAnonymous: true })
  const badAlg = await cli(['registrations', 'update', String(reg.id), '--algorithm', 'HS256'])
  t.match(badAlg.err, /\n  --algorithm: must be one of: RS256, RS384, RS512, ES256, PS256/)
  const unlinked = await cli(['registrations', 'update', String(reg.id), '--no-lti11-consumer', '--json'])
  t.equal(JSON.parse(unlinked.out).lti11ConsumerId, null)

  const table = await cli(['registrations', 'list'])
  t.match(table.out, /canvas\.instructure\.com/)
  t.match(table.out, /\["2","3"\]/)

  // The HTTP API, built on the same database, shows the same registration.
  const config = testConfig({ DATABASE_URL: url, PUBLIC_URL: 'https://tool.example.org' })
  const app = await buildServer(config)
  await app.ready()
  t.teardown(() => app.close())
  const viaApi = await app.inject({ method: 'GET', url: `/admin/api/v1/lti13/registrations/${reg.id}`, headers: adminHeaders })
  t.same(viaApi.json(), JSON.parse((await cli(['registrations', 'show', String(reg.id), '--json'])).out))

  t.equal((await cli(['registrations', 'remove', String(reg.id)])).code, 0)
  t.same(await knex('lti13_deployments').select('*'), [])
})

t.test('passbacks: list, retry one, retry all dead of a consumer', async t => {
  const { knex } = await setUp(t)
  const consumer = JSON.parse((await cli(['consumers', 'add', '--name', 'C', '--key', 'c', '--secret', 'a-long-enough-secret', '--json'])).out)
  const other = JSON.parse((await cli(['consumers', 'add', '--name', 'D', '--key', 'd', '--secret', 'a-long-enough-secret', '--json'])).out)
  const at = Date.now() - 60_000
  const assignment = async (consumerId: number, n: number) => {
    const [userId] = await knex('lti_users').insert({ consumer_id: consumerId, lti_user_id: `u${n}`, lms_user_id: n, lms_username: `l${n}`, created_at: at, updated_at: at })
    const [serviceId] = await knex('outcome_services').insert({ consumer_id: consumerId, url: `https://lms.example/o${n}`, url_sha256: String(n).padStart(64, '0'), created_at: at })
    const [id] = await knex('graded_assignments').insert({ lti_user_id: userId, outcome_service_id: serviceId, lms_user_id: n, course_key: 'course-v1:A+B+C', usage_key: `block-v1:A+B+C+type@problem+block@p${n}`, lis_result_sourcedid: `s${n}`, created_at: at, updated_at: at })
    return Number(id)
  }
  const job = async (assignmentId: number, status: string) => {
    const [id] = await knex('passbacks').insert({ kind: 'lti11', graded_assignment_id: assignmentId, target_key: `a:${assignmentId}`, version: 1, method: 'leaf', score_given: 1, score_maximum: 2, event_time_us: at * 1000, platform_host: 'lms.example', status, attempts: 12, last_error: 'HTTP 500', due_at: at, created_at: at, updated_at: at })
    return Number(id)
  }
  const dead1 = await job(await assignment(consumer.id, 1), 'dead')
  const dead2 = await job(await assignment(consumer.id, 2), 'dead')
  const delivered = await job(await assignment(consumer.id, 3), 'delivered')
  const deadOther = await job(await assignment(other.id, 4), 'dead')

  const list = await cli(['passbacks', 'list', '--status', 'dead', '--json'])
  t.equal(list.code, 0, list.err)
  t.same(JSON.parse(list.out).passbacks.map((p: { id: number }) => p.id), [deadOther, dead2, dead1])
  const paged = JSON.parse((await cli(['passbacks', 'list', '--limit', '1', '--consumer', String(consumer.id), '--json'])).out)
  t.equal(paged.passbacks.length, 1)
  t.equal(paged.nextBefore, delivered)
  const table = await cli(['passbacks', 'list'])
  t.match(table.out, /HTTP 500/)
  const badStatus = await cli(['passbacks', 'list', '--status', 'lost'])
  t.equal(badStatus.code, 1)
  t.match(badStatus.err, /\n  --status: must be one of: pending, delivering, delivered, failed, dead, superseded/)

  const one = await cli(['passbacks', 'retry', String(dead1), '--json'])
  t.equal(one.code, 0, one.err)
  t.match(JSON.parse(one.out), { id: dead1, status: 'pending', attempts: 12 })
  const again = await cli(['passbacks', 'retry', String(dead1)])
  t.equal(again.code, 1)
  t.match(again.err, /^error ADMIN_PASSBACK_NOT_RETRYABLE/)
  t.match((await cli(['passbacks', 'retry', String(delivered)])).err, /ADMIN_PASSBACK_NOT_RETRYABLE/)
  t.equal((await cli(['passbacks', 'retry'])).code, 1, 'an id or --all-dead is needed')
  t.equal((await cli(['passbacks', 'retry', String(dead2), '--all-dead'])).code, 1, 'not both')
  t.equal((await cli(['passbacks', 'retry', String(dead2), '--consumer', '1'])).code, 1)

  const bulk = await cli(['passbacks', 'retry', '--all-dead', '--consumer', String(consumer.id), '--json'])
  t.same(JSON.parse(bulk.out), { retried: 1, skippedStale: 0 })
  const status = async (id: number) => (await knex('passbacks').where({ id }).first()).status
  t.equal(await status(dead2), 'pending')
  t.equal(await status(deadOther), 'dead')
  const human = await cli(['passbacks', 'retry', '--all-dead'])
  t.equal(human.out, 'requeued 1 dead passback(s)\n')
  t.equal(await status(deadOther), 'pending')
  t.match((await cli(['passbacks', 'show', String(deadOther)])).out, /status:\s+pending/)
})

t.test('the built command reads a secret from standard input and never prints it', async t => {
  const { url, knex } = await setUp(t)
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'consumers', 'add', '--name', 'Piped', '--key', 'piped', '--secret-file', '-', '--json'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'test', DATABASE_URL: url },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += String(c) })
  child.stderr.on('data', (c: Buffer) => { err += String(c) })
  child.stdin.end(SECRET + '\n')
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  t.equal(code, 0, err)
  t.match(JSON.parse(out), { key: 'piped', hasSecret: true })
  t.notMatch(out + err, SECRET)
  const row = await knex('lti11_consumers').where({ consumer_key: 'piped' }).first()
  t.equal(createSecretBox(INSECURE_DEV_SECRET).open(row.secret_enc, 'lti11_consumers.secret'), SECRET)
})
