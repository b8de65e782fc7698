/**
 * Passwords with `/`, `%`, `@`, `:` or `#` (what `openssl rand -base64` and password managers make):
 * by parts they need no escaping; in DATABASE_URL, percent-encoded, they decode to themselves, and a
 * raw one is a named configuration error, never "URI malformed". On MariaDB, a user with such a
 * password really logs in both ways.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { ConfigError, loadConfig } from '../../src/config.js'
import { createKnex } from '../../src/db/connection.js'
import { DatabaseUrlError, mysqlUrlFromParts, parseMysqlUrl } from '../../src/db/database-url.js'
import { createTestDb, testBackend } from '../helpers/db.js'

const SECRET = 'k'.repeat(40)
const HARD = 'p/a%ss@w:rd#?+ é'

t.test('by parts: any password, port and name survive, and the URL is built encoded', async t => {
  const c = loadConfig({ SECRET_KEY: SECRET, DATABASE_HOST: 'db.internal', DATABASE_PORT: '3307', DATABASE_USER: 'lti@app', DATABASE_PASSWORD: HARD, DATABASE_NAME: 'lti_provider' }, { envFile: false })
  t.same(parseMysqlUrl(c.DATABASE_URL), { host: 'db.internal', port: 3307, user: 'lti@app', password: HARD, database: 'lti_provider' })
  t.same(parseMysqlUrl(mysqlUrlFromParts({ host: '::1', user: 'u', name: 'd' })), { host: '[::1]', port: 3306, user: 'u', password: '', database: 'd' })
})

t.test('by parts: mixed with DATABASE_URL, or incomplete, is refused by name', async t => {
  const both = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_URL: 'mysql://a:b@h/d', DATABASE_HOST: 'h', DATABASE_USER: 'a', DATABASE_NAME: 'd' }, { envFile: false })) as ConfigError
  t.match(both.problems, ['DATABASE_URL, DATABASE_HOST: give the database as a URL or by parts, not both'])
  const partial = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_HOST: 'h', DATABASE_PASSWORD: HARD }, { envFile: false })) as ConfigError
  t.match(partial.problems, ['DATABASE_USER, DATABASE_NAME: required with DATABASE_HOST'])
  t.notMatch(partial.message, HARD)
  const stray = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_PASSWORD: HARD }, { envFile: false })) as ConfigError
  t.match(stray.problems, ['DATABASE_PASSWORD: only used with DATABASE_HOST, which is unset'])
  const port = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_HOST: 'h', DATABASE_USER: 'u', DATABASE_NAME: 'd', DATABASE_PORT: '0' }, { envFile: false })) as ConfigError
  t.match(port.problems, [/^DATABASE_PORT: /])
})

t.test('DATABASE_URL: percent-encoded parts decode exactly; raw special characters are a named error', async t => {
  const encoded = `mysql://lti:${encodeURIComponent(HARD)}@db:3306/lti%2Dprovider`
  t.equal(loadConfig({ SECRET_KEY: SECRET, DATABASE_URL: encoded }, { envFile: false }).DATABASE_URL, encoded)
  t.same(parseMysqlUrl(encoded), { host: 'db', port: 3306, user: 'lti', password: HARD, database: 'lti-provider' })
  t.equal(parseMysqlUrl('mariadb://u:p%25w@h/d').password, 'p%w')

  for (const [url, problem] of [
    ['mysql://lti:50%off@db:3306/lti', /^DATABASE_URL: the password has a % that does not start a percent-encoded byte; percent-encode/],
    ['mysql://lti:pa/ss@db:3306/lti', /^DATABASE_URL: not a valid mysql:\/\/ URL; percent-encode .* or give DATABASE_HOST/],
    ['mysql://lti:pa#ss@db:3306/lti', /^DATABASE_URL: not a valid mysql:\/\/ URL/],
    ['mysql://lti:pw@db:3306/lti#x', /^DATABASE_URL: has a #/],
    ['mysql://lti:pw@db:3306/', /^DATABASE_URL: mysql:\/\/ URL needs a database name$/]
  ] as const) {
    const err = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_URL: url }, { envFile: false }), url) as ConfigError
    t.ok(err instanceof ConfigError, `${url}: a configuration error at boot`)
    t.match(err.problems, [problem], url)
    t.notMatch(err.message, /URI malformed/)
    t.throws(() => createKnex({ url }), DatabaseUrlError, `${url}: the same error when a URL reaches the driver directly`)
  }
  const leaked = t.throws(() => loadConfig({ SECRET_KEY: SECRET, DATABASE_URL: 'mysql://lti:s3cr%zz@db/lti' }, { envFile: false })) as ConfigError
  t.notMatch(leaked.message, 's3cr', 'the password is never echoed')
})

t.test('a MariaDB user whose password needs escaping logs in by parts and by encoded URL', async t => {
  if (testBackend !== 'mariadb') {
    // SQLite run: the same password goes through the knex connection options unchanged.
    const c = loadConfig({ SECRET_KEY: SECRET, DATABASE_HOST: '127.0.0.1', DATABASE_USER: 'u', DATABASE_PASSWORD: HARD, DATABASE_NAME: 'd' }, { envFile: false })
    const knex = createKnex({ url: c.DATABASE_URL })
    t.teardown(() => knex.destroy())
    t.equal((knex.client.config.connection as { password: string }).password, HARD)
    return
  }
  const db = await createTestDb(t, { migrate: false })
  // Every account may use information_schema: no GRANT needed (the test account may not give one).
  const database = 'information_schema'
  const user = `lti_pw_${randomBytes(3).toString('hex')}`
  await db.knex.raw('CREATE USER ?@? IDENTIFIED BY ?', [user, '127.0.0.1', HARD])
  t.teardown(() => db.knex.raw('DROP USER IF EXISTS ?@?', [user, '127.0.0.1']))
  const base = new URL(db.url)

  const byParts = loadConfig({ SECRET_KEY: SECRET, DATABASE_HOST: '127.0.0.1', DATABASE_PORT: base.port || '3306', DATABASE_USER: user, DATABASE_PASSWORD: HARD, DATABASE_NAME: database }, { envFile: false })
  const byUrl = loadConfig({ SECRET_KEY: SECRET, DATABASE_URL: `mysql://${user}:${encodeURIComponent(HARD)}@127.0.0.1:${base.port || '3306'}/${database}` }, { envFile: false })
  for (const [label, c] of [['by parts', byParts], ['by URL', byUrl]] as const) {
    const knex = createKnex({ url: c.DATABASE_URL, poolMax: 1 })
    try {
      const [rows] = await knex.raw('SELECT CURRENT_USER() AS me') as [Array<{ me: string }>]
      t.equal(rows[0]?.me, `${user}@127.0.0.1`, label)
    } finally {
      await knex.destroy()
    }
  }
})
