/**
 * `lti-provider registrations invite | invites | activate` against a real database (a SQLite file,
 * or MariaDB): the same service as the admin API, the URL shown once, durations parsed strictly.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Knex } from 'knex'
import { runCli } from '../../src/cli/main.js'
import { parseDuration } from '../../src/cli/invites-command.js'
import { createKnex } from '../../src/db/connection.js'
import { createTestDb, testBackend } from '../helpers/db.js'

// Migrations through the CLI on MariaDB are slow under load.
t.setTimeout(300_000)

const ENV_KEYS = ['NODE_ENV', 'DATABASE_URL', 'PUBLIC_URL', 'OUTBOUND_ALLOW_LOOPBACK_HTTP', 'LOG_LEVEL', 'SECRET_KEY', 'ADMIN_TOKEN', 'DATABASE_MIGRATE_ON_START'] as const

interface Run { code: number, out: string, err: string }

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

async function setUp (t: Test): Promise<Knex> {
  const dir = mkdtempSync(join(tmpdir(), 'lti-invites-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const url = testBackend === 'mariadb' ? (await createTestDb(t)).url : `sqlite:${join(dir, 'cli.sqlite')}`
  const saved = Object.fromEntries(ENV_KEYS.map(k => [k, process.env[k]]))
  t.teardown(() => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  })
  for (const k of ENV_KEYS) delete process.env[k]
  Object.assign(process.env, { NODE_ENV: 'test', DATABASE_URL: url, PUBLIC_URL: 'https://tool.example.org' })
  t.equal((await cli(['migrate'])).code, 0)
  const knex = createKnex({ url })
  t.teardown(() => knex.destroy())
  return knex
}

t.test('durations', async t => {
  t.equal(parseDuration('90m', 'expires'), 5400)
  t.equal(parseDuration('24h', 'expires'), 86400)
  t.equal(parseDuration('7d', 'expires'), 604800)
  t.equal(parseDuration('3600', 'expires'), 3600)
  for (const bad of ['', '0h', '-1h', '1w', '1.5h', 'h', '24 h']) t.throws(() => parseDuration(bad, 'expires'), { code: 'ADMIN_INVALID_FIELDS' }, bad)
})

t.test('registrations invite, invites list/remove, activate', async t => {
  const knex = await setUp(t)
  const made = await cli(['registrations', 'invite', '--expires', '2h', '--content-scope', 'course-v1:MITx+*', '--allowed-host', 'SSO.canvaslms.com', '--auto-activate', '--json'])
  t.equal(made.code, 0, made.err)
  const invite = JSON.parse(made.out)
  t.match(invite, { id: Number, url: /^https:\/\/tool\.example\.org\/lti\/1\.3\/register\?invite=[A-Za-z0-9_-]{43}$/ })
  const ttl = Date.parse(invite.expiresAt) - Date.now()
  t.ok(ttl > 7100_000 && ttl <= 7200_000, '--expires 2h')
  t.match(await knex('lti13_registration_invites').where({ id: invite.id }).first(), { allowed_hosts: '["sso.canvaslms.com"]', content_scope: '["course-v1:MITx+*"]' })

  const human = await cli(['registrations', 'invite'])
  t.equal(human.code, 0)
  t.match(human.out, /^id:\s+\d+\nurl:\s+https:\/\/tool\.example\.org\/lti\/1\.3\/register\?invite=\S+\nexpiresAt:/)
  t.match(human.out, /give this URL to the platform admin/)

  const bad = await cli(['registrations', 'invite', '--expires', 'soon'])
  t.equal(bad.code, 1)
  t.match(bad.err, /^error ADMIN_INVALID_FIELDS: [^\n]*\n\s+--expires: must be a duration/, 'the error names the flag typed')
  const tooLong = await cli(['registrations', 'invite', '--expires', '90d'])
  t.equal(tooLong.code, 1)
  t.match(tooLong.err, /--expires: /)

  const list = await cli(['registrations', 'invites'])
  t.equal(list.code, 0)
  t.match(list.out, /^id\s+status\s+expiresAt\s+registrationId\s+registrationActive\s+autoActivate\s+warnings\n/)
  t.notMatch(list.out, /invite=/, 'the listing never shows invite URLs')
  const json = JSON.parse((await cli(['registrations', 'invites', 'list', '--json'])).out)
  t.same(json.map((i: { status: string }) => i.status), ['pending', 'pending'])

  t.equal((await cli(['registrations', 'invites', 'remove', String(invite.id)])).code, 0)
  t.equal((await cli(['registrations', 'invites', 'remove', String(invite.id)])).code, 1, 'already gone')

  const reg = JSON.parse((await cli(['registrations', 'add', '--name', 'Moodle', '--issuer', 'https://moodle.example.edu', '--client-id', 'abc',
    '--auth-login-url', 'https://moodle.example.edu/mod/lti/auth.php', '--auth-token-url', 'https://moodle.example.edu/mod/lti/token.php',
    '--jwks-url', 'https://moodle.example.edu/mod/lti/certs.php', '--no-active', '--json'])).out)
  t.equal(reg.active, false)
  const activated = await cli(['registrations', 'activate', String(reg.id)])
  t.equal(activated.code, 0, activated.err)
  t.equal(activated.out, `registration ${reg.id} (Moodle) is active\n`)
  t.match(await knex('lti13_registrations').where({ id: reg.id }).first(), { active: 1 })
  t.equal((await cli(['registrations', 'activate', '999'])).code, 1)
})
