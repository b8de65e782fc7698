import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, SECRET_FILE_VARIABLES, loadConfig, secretValues } from '../../src/config.js'

const dir = mkdtempSync(join(tmpdir(), 'lti-secret-files-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const file = (name: string, content: string) => { const p = join(dir, name); writeFileSync(p, content); return p }

const SECRET = 's'.repeat(40)
const TOKEN = 't'.repeat(40)

t.test('*_FILE reads the secret from the file, without its trailing line break', async t => {
  const c = loadConfig({
    SECRET_KEY_FILE: file('secret_key', SECRET + '\n'),
    ADMIN_TOKEN_FILE: file('admin_token', TOKEN + '\r\n'),
    LMS_URL: 'https://lms.example.edu',
    LMS_CLIENT_ID: 'lti-provider',
    LMS_CLIENT_SECRET_FILE: file('lms_client_secret', 'client secret with spaces  '),
    LMS_RELAY_CONSUMER_KEY: 'relay',
    LMS_RELAY_CONSUMER_SECRET_FILE: file('relay', 'relay-secret\n\n'),
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: 'lti',
    KAFKA_SASL_PASSWORD_FILE: file('sasl', 'sasl-pw\n'),
    SCHEMA_REGISTRY_USERNAME: 'sr',
    SCHEMA_REGISTRY_PASSWORD_FILE: file('sr', 'sr-pw\n')
  }, { envFile: false })
  t.equal(c.SECRET_KEY, SECRET)
  t.equal(c.secretKey, SECRET)
  t.equal(c.ADMIN_TOKEN, TOKEN, 'a Windows line end goes too')
  t.equal(c.LMS_CLIENT_SECRET, 'client secret with spaces  ', 'only line breaks are trimmed, other whitespace may be part of a secret')
  t.equal(c.LMS_RELAY_CONSUMER_SECRET, 'relay-secret')
  t.equal(c.KAFKA_SASL_PASSWORD, 'sasl-pw')
  t.equal(c.SCHEMA_REGISTRY_PASSWORD, 'sr-pw')
  t.ok(secretValues(c).includes(TOKEN), 'values from files are redacted from logs like the others')
})

t.test('the file variant is subject to the same rules as the variable', async t => {
  const err = t.throws(() => loadConfig({ SECRET_KEY_FILE: file('short', 'too-short\n') }, { envFile: false })) as ConfigError
  t.match(err.message, /SECRET_KEY: /)
  t.notMatch(err.message, /too-short/, 'the value is never echoed')
})

t.test('a missing file, an empty file, or both forms set: named, boot fails', async t => {
  const missing = join(dir, 'nope')
  const a = t.throws(() => loadConfig({ SECRET_KEY_FILE: missing }, { envFile: false })) as ConfigError
  t.ok(a instanceof ConfigError)
  t.match(a.problems, [`SECRET_KEY_FILE: cannot read ${missing} (ENOENT)`])

  const b = t.throws(() => loadConfig({ SECRET_KEY: SECRET, SECRET_KEY_FILE: file('sk2', SECRET) }, { envFile: false })) as ConfigError
  t.match(b.problems, ['SECRET_KEY, SECRET_KEY_FILE: set one of them, not both'])
  t.notMatch(b.message, SECRET)

  const c = t.throws(() => loadConfig({ SECRET_KEY: SECRET, ADMIN_TOKEN_FILE: file('empty', '\n') }, { envFile: false })) as ConfigError
  t.match(c.problems, [/^ADMIN_TOKEN_FILE: .* is empty$/])

  const d = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_PASSWORD_FILE: dir }, { envFile: false })) as ConfigError
  t.match(d.problems, [/^DATABASE_PASSWORD_FILE: cannot read .* \(EISDIR\)$/])
})

t.test('.env may name the files too; an empty _FILE means unset', async t => {
  const env = file('dotenv', `SECRET_KEY_FILE=${file('sk3', SECRET + '\n')}\nADMIN_TOKEN_FILE=\n`)
  const c = loadConfig({}, { envFile: env })
  t.equal(c.SECRET_KEY, SECRET)
  t.equal(c.ADMIN_TOKEN, undefined)
})

t.test('every secret variable has a _FILE form', async t => {
  t.same([...SECRET_FILE_VARIABLES].sort(), ['ADMIN_TOKEN', 'DATABASE_PASSWORD', 'DATABASE_URL', 'KAFKA_SASL_PASSWORD', 'LMS_CLIENT_SECRET',
    'LMS_RELAY_CONSUMER_SECRET', 'SCHEMA_REGISTRY_PASSWORD', 'SECRET_KEY'])
  const c = loadConfig({ SECRET_KEY: SECRET, DATABASE_URL_FILE: file('url', 'mysql://lti:p%2Fw@db:3306/lti\n') }, { envFile: false })
  t.equal(c.DATABASE_URL, 'mysql://lti:p%2Fw@db:3306/lti')
})
