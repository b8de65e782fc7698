/**
 * docker-compose.yml cannot be started here (no Docker engine): this checks what can be checked
 * without one, against the configuration contract and the Dockerfile, property by property: data on
 * volumes, the LMS's way in, no password in any environment, loopback-only ports, one image build.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { ConfigSchema, SECRET_FILE_VARIABLES } from '../../src/config.js'

interface Service {
  image?: string
  build?: unknown
  environment?: Record<string, string>
  env_file?: string | string[]
  ports?: string[]
  command?: string[]
  secrets?: string[]
  volumes?: string[]
  healthcheck?: { test: string[] }
  depends_on?: Record<string, { condition: string }>
}

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8')
const composeText = read('docker-compose.yml')
// merge: compose resolves `<<: *anchor`, so the test must too.
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service>, secrets: Record<string, { file: string }>, volumes: Record<string, unknown> }
const s = compose.services
const known = new Set(Object.keys(ConfigSchema.properties))
/** The variables compose itself interpolates (`${NAME:-default}`): published addresses and the image. */
const composeVariables = new Set([...composeText.matchAll(/\$\{([A-Z0-9_]+)/g)].map(m => m[1]!))
const envExample = read('.env.example')

t.test('services and images', async t => {
  t.match(s.mysql?.image, /^mysql:8\.4/)
  t.match(s.kafka?.image, /^apache\/kafka:/)
  t.match(s['schema-registry']?.image, /^confluentinc\/cp-schema-registry:/)
  t.same(s.migrate?.command, ['migrate'], 'migrations run once, before the service')
  t.equal(s['lti-provider']?.depends_on?.migrate?.condition, 'service_completed_successfully')
})

t.test('the image is built once and named: migrate runs the same one', async t => {
  const built = Object.entries(s).filter(([, svc]) => svc.build !== undefined).map(([name]) => name)
  t.same(built, ['lti-provider'])
  t.ok(s['lti-provider']?.image, 'the built image has a name')
  t.equal(s.migrate?.image, s['lti-provider']?.image)
})

t.test('Kafka keeps its data on the volume', async t => {
  const logDirs = s.kafka?.environment?.KAFKA_LOG_DIRS
  t.ok(logDirs, 'KAFKA_LOG_DIRS is set (else the image writes to /tmp/kraft-combined-logs)')
  const mounts = (s.kafka?.volumes ?? []).map(v => v.split(':'))
  t.ok(mounts.some(([volume, path]) => volume === 'kafka-data' && path === logDirs), 'the kafka-data volume is mounted at KAFKA_LOG_DIRS')
  t.ok('kafka-data' in compose.volumes)
  t.ok((s.mysql?.volumes ?? []).some(v => v === 'mysql-data:/var/lib/mysql'))
})

t.test('the LMS can reach Kafka and the Schema Registry on published, documented ports', async t => {
  const env = s.kafka?.environment ?? {}
  const listeners = String(env.KAFKA_LISTENERS).split(',')
  const advertised = String(env.KAFKA_ADVERTISED_LISTENERS).split(',')
  t.ok(listeners.includes('EXTERNAL://:29092'), 'an external listener')
  t.ok(advertised.includes('PLAINTEXT://kafka:9092'), 'containers of this stack use kafka:9092')
  t.ok(advertised.includes('EXTERNAL://${KAFKA_EXTERNAL_HOST:-127.0.0.1}:${KAFKA_EXTERNAL_PORT:-29092}'), 'the LMS is told the host and port it connects to')
  t.match(String(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP), /EXTERNAL:PLAINTEXT/)
  t.same(s.kafka?.ports, ['${KAFKA_EXTERNAL_BIND:-127.0.0.1}:${KAFKA_EXTERNAL_PORT:-29092}:29092'], 'published on the advertised port')
  t.same(s['schema-registry']?.ports, ['${SCHEMA_REGISTRY_BIND:-127.0.0.1}:${SCHEMA_REGISTRY_PORT:-8081}:8081'])
  const guide = read('docs/operator-guide.md')
  for (const name of ['KAFKA_EXTERNAL_HOST', 'KAFKA_EXTERNAL_PORT', 'KAFKA_EXTERNAL_BIND', 'SCHEMA_REGISTRY_PORT', 'EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS', 'EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL']) {
    t.match(guide, name, `the operator guide explains ${name}`)
  }
})

t.test('every published port binds 127.0.0.1 unless the operator says otherwise', async t => {
  for (const [name, svc] of Object.entries(s)) {
    for (const port of svc.ports ?? []) t.match(port, /^\$\{[A-Z_]+_BIND:-127\.0\.0\.1\}:/, `${name}: ${port}`)
  }
  t.same(s['lti-provider']?.ports, ['${LTI_PROVIDER_BIND:-127.0.0.1}:${LTI_PROVIDER_PORT:-3000}:3000'])
  t.match(read('docs/operator-guide.md'), /reverse proxy[\s\S]*TLS|TLS[\s\S]*reverse proxy/i, 'the TLS reverse proxy in front is documented')
})

t.test('no password in any container environment, file or healthcheck', async t => {
  for (const [name, svc] of Object.entries(s)) {
    for (const [key, value] of Object.entries(svc.environment ?? {})) {
      t.notMatch(key, /^MYSQL_(ROOT_)?PASSWORD$/, `${name}: ${key} is not passed as a value`)
      t.notMatch(String(value), /\$\{?MYSQL_|PASSWORD\}/, `${name}: ${key} interpolates no password`)
    }
    const check = svc.healthcheck?.test ?? []
    t.notOk(check.some(arg => /^-p|^--password|password|\$/i.test(arg)), `${name}: the healthcheck holds no credentials`)
  }
  t.equal(s.mysql?.environment?.MYSQL_PASSWORD_FILE, '/run/secrets/mysql_password')
  t.equal(s.mysql?.environment?.MYSQL_ROOT_PASSWORD_FILE, '/run/secrets/mysql_root_password')
  t.notMatch(envExample, /^(MYSQL_\w*PASSWORD|SECRET_KEY|ADMIN_TOKEN|LMS_CLIENT_SECRET|LMS_RELAY_CONSUMER_SECRET|DATABASE_PASSWORD|DATABASE_URL)=/m,
    '.env (handed to the service by env_file) holds no secret')
  for (const f of ['.gitignore', '.dockerignore']) t.match(read(f), /^secrets\/?$/m, `${f} keeps ./secrets out`)
})

t.test('the service and migrate get the database by parts and every secret as a file', async t => {
  for (const name of ['lti-provider', 'migrate']) {
    const env = s[name]?.environment ?? {}
    t.match(env, { DATABASE_HOST: 'mysql', DATABASE_USER: 'lti_provider', DATABASE_NAME: 'lti_provider', DATABASE_PASSWORD_FILE: '/run/secrets/mysql_password', SECRET_KEY_FILE: '/run/secrets/secret_key' }, name)
    t.notOk(env.DATABASE_URL, `${name}: no URL to escape a password into`)
    for (const [key, value] of Object.entries(env)) {
      if (!key.endsWith('_FILE')) continue
      t.ok((SECRET_FILE_VARIABLES as readonly string[]).includes(key.replace(/_FILE$/, '')), `${name}: ${key} is a secret file variable`)
      const secret = /^\/run\/secrets\/(\w+)$/.exec(value)?.[1]
      t.ok(secret && s[name]?.secrets?.includes(secret) && compose.secrets[secret], `${name}: ${key} is a declared secret mounted in the container`)
    }
  }
  for (const [name, secret] of Object.entries(compose.secrets)) t.match(secret.file, new RegExp(`^\\./secrets/${name}$`))
  t.match(s['lti-provider']?.environment, { ADMIN_TOKEN_FILE: String, LMS_CLIENT_SECRET_FILE: String, LMS_RELAY_CONSUMER_SECRET_FILE: String })
})

t.test('health checks gate the start order', async t => {
  for (const name of ['mysql', 'kafka', 'schema-registry']) t.ok(s[name]?.healthcheck?.test?.length, `${name} has a healthcheck`)
  t.match(s['schema-registry']?.healthcheck?.test, ['CMD', 'curl', /./])
  t.equal(s['lti-provider']?.depends_on?.['schema-registry']?.condition, 'service_healthy')
  t.equal(s['lti-provider']?.depends_on?.kafka?.condition, 'service_healthy')
  t.equal(s.migrate?.depends_on?.mysql?.condition, 'service_healthy')
})

t.test('every variable the service gets is one of the configuration contract', async t => {
  for (const name of ['lti-provider', 'migrate']) {
    for (const key of Object.keys(s[name]?.environment ?? {})) t.ok(known.has(key), `${name}: ${key} is a known variable`)
  }
  for (const line of envExample.split('\n')) {
    const m = /^([A-Z0-9_]+)=/.exec(line)
    if (m) t.ok(known.has(m[1]!) || composeVariables.has(m[1]!), `.env.example: ${m[1]} is a configuration or compose variable`)
  }
})

t.test('Dockerfile: pinned Node 22, multi-stage, non-root, health check, entry point = the CLI', async t => {
  const df = read('Dockerfile')
  t.equal((df.match(/^FROM /gm) ?? []).length, 2)
  const version = /^FROM node:(\S+)-bookworm AS build$/m.exec(df)?.[1]
  t.match(version, /^22\.\d+\.\d+$/, 'an exact Node 22 release')
  t.match(df, new RegExp(`^FROM node:${version!.replace(/\./g, '\\.')}-bookworm-slim$`, 'm'), 'both stages on the same release')
  t.match(read('.ci/node.sh'), new RegExp(`^NODE_VERSION=${version!.replace(/\./g, '\\.')}$`, 'm'), 'CI tests the release the image ships')
  t.match(df, /npm ci --ignore-scripts[^\n]*&& npm rebuild better-sqlite3/, 'prepare (the build) does not run before the sources are copied')
  t.match(df, /^USER node$/m)
  t.match(df, /HEALTHCHECK[\s\S]*\/health/)
  t.match(df, /ENTRYPOINT \["node", "dist\/src\/cli\/main\.js"\]/)
  t.match(df, /EXPOSE 3000/)
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string }, scripts: Record<string, string>, devDependencies: Record<string, string> }
  t.equal(pkg.engines.node, '>=22.12.0')
  t.match(pkg.devDependencies['@types/node'], /^\^22\./)
  t.equal(pkg.scripts.prepare, 'node scripts/prepare.mjs', 'npm ci builds')
})

t.test('.dockerignore keeps node_modules, .env and local data out of the build context', async t => {
  const ignored = read('.dockerignore').split('\n').map(l => l.trim())
  for (const entry of ['node_modules', '.env', '.env.*', 'dist', 'data', '.git', 'secrets']) t.ok(ignored.includes(entry), entry)
  const df = read('Dockerfile')
  for (const m of df.matchAll(/^COPY (?!--from)(\S+)/gm)) t.notOk(ignored.includes(m[1]!), `${m[1]} is copied, so it is not ignored`)
})
