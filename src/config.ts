/**
 * The whole environment of the service, read in one place (style.md habit 8).
 *
 * One TypeBox schema is both the validator and the type. Boot fails fast with a message naming each
 * bad variable; nothing else in the code base reads `process.env`.
 */
import { readFileSync, existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { hostname } from 'node:os'
import { parse as parseDotenv } from 'dotenv'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { DatabaseUrlError, mysqlUrlFromParts, parseMysqlUrl } from './db/database-url.js'

/**
 * Secrets that may come from a file instead (`SECRET_KEY_FILE=/run/secrets/secret_key`), as Docker
 * and Kubernetes secrets are mounted: the value then never sits in the container's environment.
 */
export const SECRET_FILE_VARIABLES = ['SECRET_KEY', 'ADMIN_TOKEN', 'LMS_CLIENT_SECRET', 'LMS_RELAY_CONSUMER_SECRET',
  'KAFKA_SASL_PASSWORD', 'SCHEMA_REGISTRY_PASSWORD', 'DATABASE_PASSWORD', 'DATABASE_URL'] as const

function secretFileVariables () {
  const file = (name: string) => Type.Optional(Type.String({ minLength: 1, description: `file holding ${name} (Docker/Kubernetes secret); not together with ${name}` }))
  return Object.fromEntries(SECRET_FILE_VARIABLES.map(name => [`${name}_FILE`, file(name)])) as Record<`${typeof SECRET_FILE_VARIABLES[number]}_FILE`, ReturnType<typeof file>>
}

const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })
const Int = (def: number, min: number, description: string, max?: number) =>
  Type.Integer({ default: def, minimum: min, ...(max === undefined ? {} : { maximum: max }), description })
const OptString = (description: string, minLength = 1) => Type.Optional(Type.String({ minLength, description }))

export const ConfigSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('production'), Type.Literal('development'), Type.Literal('test'), Type.Literal('demo')], {
    default: 'production', description: 'production | development | test | demo; test and demo allow built-in secrets'
  }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), { default: 'info' }),

  PORT: Int(3000, 0, 'listen port', 65535),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'listen address (0.0.0.0 in containers)' }),
  PUBLIC_URL: Type.String({ default: 'http://localhost:3000', pattern: '^https?://[^/?#]+/?$', description: 'external origin: OAuth 1.0a base strings, redirect and target URIs' }),
  TRUST_PROXY: Type.String({
    default: 'false',
    description: 'which X-Forwarded-* hops to trust (client IP for rate limits and logs): false; the proxies\' addresses/CIDRs, comma-separated (or loopback, linklocal, uniquelocal); or true (every hop)'
  }),
  REQUEST_BODY_LIMIT: Int(65536, 1024, 'maximum request body in bytes'),
  HTTP_REQUEST_TIMEOUT_MS: Int(30000, 100, 'a request whose headers and body have not all arrived by then (or a silent socket) is closed: slow-loris bound'),
  RATE_LIMIT_ENABLED: Bool(true, 'per-IP and per-consumer limits on the launch and login routes (per instance, in memory)'),
  RATE_LIMIT_WINDOW_SECONDS: Int(10, 1, 'length of one rate-limit window', 3600),
  RATE_LIMIT_PER_IP: Int(600, 1, 'launch/login requests one client IP may make per window (a whole class behind one NAT launches at once)'),
  RATE_LIMIT_PER_CONSUMER: Int(1000, 1, 'verified launches one LTI 1.1 consumer or LTI 1.3 registration may make per window'),

  DATABASE_URL: Type.String({ default: 'sqlite:./data/lti-provider.sqlite', minLength: 1, description: 'sqlite:<file> or mysql://user:pass@host:3306/db (percent-encode special characters), or leave unset and give DATABASE_HOST…' }),
  DATABASE_HOST: OptString('MySQL/MariaDB host, instead of DATABASE_URL: with DATABASE_USER, DATABASE_PASSWORD, DATABASE_NAME (no escaping needed)'),
  DATABASE_PORT: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'with DATABASE_HOST; default 3306' })),
  DATABASE_USER: OptString('with DATABASE_HOST'),
  DATABASE_PASSWORD: OptString('with DATABASE_HOST'),
  DATABASE_NAME: OptString('with DATABASE_HOST'),
  DATABASE_POOL_MAX: Int(10, 1, 'MySQL/MariaDB pool size (SQLite always uses one connection)'),
  DATABASE_MIGRATE_ON_START: Bool(true, 'apply pending migrations when the service starts (knex locks, so instances may race safely)'),

  SECRET_KEY: OptString('encrypts secrets and private keys at rest (at least 32 characters)', 32),
  ADMIN_TOKEN: OptString('bearer token of the admin API (at least 32 characters); unset = admin API off', 32),

  LMS_URL: Type.Optional(Type.String({ pattern: '^https?://[^?#]+$', description: 'the Open edX LMS base URL' })),
  LMS_CLIENT_ID: OptString('OAuth2 client id of the LMS service user'),
  LMS_CLIENT_SECRET: OptString('OAuth2 client secret of the LMS service user'),
  LMS_SESSION_HANDOFF: Type.Union([Type.Literal('relay'), Type.Literal('token'), Type.Literal('redirect')], { default: 'relay' }),
  LMS_USER_EMAIL_DOMAIN: Type.String({ default: 'lti.invalid', minLength: 3, description: 'domain of synthetic emails of accounts created without PII' }),
  LMS_RELAY_CONSUMER_KEY: OptString('LtiConsumer key configured in the LMS for the relay handoff'),
  LMS_RELAY_CONSUMER_SECRET: OptString('LtiConsumer secret configured in the LMS for the relay handoff'),
  LMS_TOKEN_LOGIN_PATH: Type.String({ default: '/lti-provider/login', minLength: 1, description: 'LMS path of the companion login endpoint (token handoff)' }),
  LMS_TIMEOUT_MS: Int(10000, 100, 'timeout of one LMS REST call'),

  KAFKA_BROKERS: OptString('comma-separated bootstrap servers; unset = event consumer off'),
  KAFKA_GROUP_ID: Type.String({ default: 'lti-provider', minLength: 1 }),
  KAFKA_CLIENT_ID: Type.String({ default: 'openedx-lti-provider', minLength: 1 }),
  KAFKA_SSL: Bool(false, 'TLS to the brokers'),
  KAFKA_SASL_MECHANISM: Type.Optional(Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256'), Type.Literal('scram-sha-512')])),
  KAFKA_SASL_USERNAME: OptString('SASL user name'),
  KAFKA_SASL_PASSWORD: OptString('SASL password'),
  KAFKA_FROM_BEGINNING: Bool(true, 'a new consumer group starts at the earliest offset (no score change is missed)'),
  KAFKA_PARTITIONS_CONCURRENCY: Int(1, 1, 'partitions one instance processes in parallel (order is kept within a partition); >1 helps on MySQL/MariaDB, not on SQLite', 64),
  KAFKA_MAX_WAIT_MS: Int(500, 10, 'fetch long-poll: longest the broker holds an empty fetch (kafkajs maxWaitTimeInMs); 500 as the Java client and librdkafka', 30000),
  KAFKA_SESSION_TIMEOUT_MS: Int(30000, 1000, 'consumer group session: a silent instance is dropped from the group after this long (kafkajs sessionTimeout)', 300000),
  KAFKA_REBALANCE_TIMEOUT_MS: Int(60000, 1000, 'how long the group waits for members to rejoin during a rebalance (kafkajs rebalanceTimeout)', 600000),
  KAFKA_HEARTBEAT_INTERVAL_MS: Int(3000, 100, 'consumer heartbeat interval; keep below a third of KAFKA_SESSION_TIMEOUT_MS', 60000),
  EVENT_BUS_TOPIC_PREFIX: Type.String({ default: '' }),
  EVENT_BUS_TOPIC: Type.String({ default: 'learning-problem-score-lifecycle', minLength: 1 }),
  EVENT_BUS_BACKEND: Type.Optional(Type.Union([Type.Literal('kafka'), Type.Literal('redis')], { description: 'where score events come from; default kafka when KAFKA_BROKERS is set, redis when REDIS_URL is set' })),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Open edX Redis Streams event bus: redis://[:password@]host:6379/db, rediss:// for TLS; unset = Redis source off' })),
  REDIS_CONSUMER_GROUP: OptString('our consumer group on the stream (default KAFKA_GROUP_ID); never another service\'s group'),
  REDIS_CONSUMER_NAME: OptString('this instance\'s consumer name in the group (default host name + pid); keep it stable per instance'),
  REDIS_BLOCK_MS: Int(2000, 10, 'XREADGROUP BLOCK: longest one read waits for new entries', 60000),
  REDIS_BATCH_SIZE: Int(100, 1, 'XREADGROUP COUNT: entries read per call', 10000),
  REDIS_CLAIM_IDLE_MS: Int(60000, 1000, 'entries pending this long at another (crashed) consumer of the group are claimed with XAUTOCLAIM'),
  SCHEMA_REGISTRY_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'Confluent Schema Registry; unset = bundled writer schema' })),
  SCHEMA_REGISTRY_USERNAME: OptString('Schema Registry basic-auth user'),
  SCHEMA_REGISTRY_PASSWORD: OptString('Schema Registry basic-auth password'),

  LTI_AGGREGATE_SCORE_PASSBACK_DELAY: Int(900, 0, 'seconds before a composite (unit/subsection) score is sent'),
  LTI11_TIMESTAMP_WINDOW: Int(300, 30, 'default ± seconds accepted for oauth_timestamp', 3600),
  LTI13_STATE_TTL: Int(600, 30, 'seconds an OIDC login state stays valid', 3600),

  OUTBOUND_ALLOW_LOOPBACK_HTTP: Bool(false, 'allow plain HTTP to loopback platform URLs (tests and the demo only)'),
  OUTBOUND_TIMEOUT_MS: Int(10000, 100, 'total timeout of one outbound platform call'),
  OUTBOUND_MAX_BYTES: Int(1048576, 1024, 'maximum response size of one outbound platform call'),

  PASSBACK_WORKER_ENABLED: Bool(true, 'run the grade outbox worker in this instance (false: API-only instances)'),
  PASSBACK_MAX_ATTEMPTS: Int(12, 1, 'attempts before a grade passback is marked dead'),
  PASSBACK_CONCURRENCY_PER_HOST: Int(4, 1, 'parallel deliveries per platform host'),
  PASSBACK_POLL_INTERVAL_MS: Int(1000, 10, 'how often the outbox worker looks for due jobs'),
  PASSBACK_LEASE_SECONDS: Int(120, 5, 'a claimed job whose worker died is claimed again after this'),

  KEY_ROTATION_GRACE_SECONDS: Int(86400, 0, 'how long a next key is published before rotation may promote it'),

  LTI_TOOL_TITLE: Type.String({ default: 'Open edX', minLength: 1, maxLength: 100, description: 'tool name platforms show (published configuration, Dynamic Registration client_name)' }),
  LTI_TOOL_DESCRIPTION: Type.String({ default: 'Open edX course content, with grades sent back to this platform.', minLength: 1, maxLength: 1000, description: 'tool description in the published configuration' }),
  ...secretFileVariables()
}, { additionalProperties: true })

export type Config = Static<typeof ConfigSchema> & {
  /** Derived: the full Kafka topic, Open edX style. */
  eventBusTopic: string
  /** Derived: PUBLIC_URL without a trailing slash. */
  publicOrigin: string
  /** Derived: SECRET_KEY, or the well-known development secret in test/demo mode. */
  secretKey: string
  kafkaBrokers: string[]
  /** Derived: which event bus the consumer reads; `none` when neither KAFKA_BROKERS nor REDIS_URL is set. */
  eventBusBackend: 'kafka' | 'redis' | 'none'
  /** Derived: REDIS_CONSUMER_GROUP, else KAFKA_GROUP_ID. */
  redisConsumerGroup: string
  /** Derived: REDIS_CONSUMER_NAME, else `<host>-<pid>`. */
  redisConsumerName: string
  /** Derived from TRUST_PROXY, in the form Fastify's `trustProxy` takes. */
  trustProxy: boolean | string[]
}

export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super('Invalid configuration:\n' + problems.map(p => '  - ' + p).join('\n'))
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/** Only for NODE_ENV test/demo: data encrypted with it is not protected. */
export const INSECURE_DEV_SECRET = 'insecure-development-secret-do-not-use-in-production'

const KNOWN = new Set(Object.keys(ConfigSchema.properties))

/**
 * Reads the environment. `.env` (or `envFile`) fills only variables that are not already set, as
 * dotenv does. Unknown variables are ignored: the environment carries many unrelated ones.
 */
export function loadConfig (env: NodeJS.ProcessEnv = process.env, options: { envFile?: string | false } = {}): Config {
  const merged: Record<string, unknown> = {}
  const file = options.envFile === undefined ? '.env' : options.envFile
  if (file !== false && existsSync(file)) {
    Object.assign(merged, parseDotenv(readFileSync(file)))
  }
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined) merged[k] = v
  }
  const raw: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(merged)) {
    // An empty value means "unset", as in most operators' .env files and compose files.
    if (KNOWN.has(k) && v !== '') raw[k] = v
  }
  const problems: string[] = readSecretFiles(raw)
  const urlGiven = raw.DATABASE_URL !== undefined
  const withDefaults = Value.Default(ConfigSchema, raw)
  const converted = Value.Convert(ConfigSchema, withDefaults) as Record<string, unknown>
  for (const e of Value.Errors(ConfigSchema, converted)) {
    const name = e.instancePath.replace(/^\//, '')
    // Never echo values: they may be secrets.
    problems.push(`${name || '(root)'}: ${e.message}`)
  }
  const cfg = converted as Static<typeof ConfigSchema>
  problems.push(...databaseFromParts(cfg, urlGiven))
  problems.push(...crossChecks(cfg))
  if (problems.length > 0) throw new ConfigError([...new Set(problems)])

  const relaxed = cfg.NODE_ENV === 'test' || cfg.NODE_ENV === 'demo'
  const prefix = cfg.EVENT_BUS_TOPIC_PREFIX
  return {
    ...cfg,
    eventBusTopic: prefix ? `${prefix}-${cfg.EVENT_BUS_TOPIC}` : cfg.EVENT_BUS_TOPIC,
    publicOrigin: cfg.PUBLIC_URL.replace(/\/+$/, ''),
    secretKey: cfg.SECRET_KEY ?? (relaxed ? INSECURE_DEV_SECRET : ''),
    kafkaBrokers: cfg.KAFKA_BROKERS ? cfg.KAFKA_BROKERS.split(',').map(s => s.trim()).filter(Boolean) : [],
    eventBusBackend: cfg.EVENT_BUS_BACKEND ?? (cfg.KAFKA_BROKERS ? 'kafka' : cfg.REDIS_URL ? 'redis' : 'none'),
    redisConsumerGroup: cfg.REDIS_CONSUMER_GROUP ?? cfg.KAFKA_GROUP_ID,
    redisConsumerName: cfg.REDIS_CONSUMER_NAME ?? `${hostname()}-${process.pid}`,
    trustProxy: parseTrustProxy(cfg.TRUST_PROXY) ?? false
  }
}

/**
 * `NAME_FILE` sets NAME to the file's content without its trailing line break (`echo … > file` and
 * most secret tools add one). Both set is a mistake that would hide which one wins.
 */
function readSecretFiles (raw: Record<string, unknown>): string[] {
  const problems: string[] = []
  for (const name of SECRET_FILE_VARIABLES) {
    const path = raw[`${name}_FILE`]
    if (typeof path !== 'string') continue
    if (raw[name] !== undefined) {
      problems.push(`${name}, ${name}_FILE: set one of them, not both`)
      continue
    }
    let content: string
    try {
      content = readFileSync(path, 'utf8')
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
      continue
    }
    const value = content.replace(/(\r?\n)+$/, '')
    if (value === '') problems.push(`${name}_FILE: ${path} is empty`)
    else raw[name] = value
  }
  return problems
}

/**
 * DATABASE_HOST, _PORT, _USER, _PASSWORD, _NAME become DATABASE_URL, each part percent-encoded: a
 * password with `/`, `%` or `@` needs no escaping by the operator.
 */
function databaseFromParts (cfg: Static<typeof ConfigSchema>, urlGiven: boolean): string[] {
  const parts = { DATABASE_USER: cfg.DATABASE_USER, DATABASE_PASSWORD: cfg.DATABASE_PASSWORD, DATABASE_NAME: cfg.DATABASE_NAME, DATABASE_PORT: cfg.DATABASE_PORT }
  if (!cfg.DATABASE_HOST) {
    const stray = Object.entries(parts).filter(([, v]) => v !== undefined).map(([k]) => k)
    return stray.length > 0 ? [`${stray.join(', ')}: only used with DATABASE_HOST, which is unset`] : []
  }
  if (urlGiven) return ['DATABASE_URL, DATABASE_HOST: give the database as a URL or by parts, not both']
  if (!cfg.DATABASE_USER || !cfg.DATABASE_NAME) return ['DATABASE_USER, DATABASE_NAME: required with DATABASE_HOST']
  cfg.DATABASE_URL = mysqlUrlFromParts({
    host: cfg.DATABASE_HOST, user: cfg.DATABASE_USER, name: cfg.DATABASE_NAME,
    ...(cfg.DATABASE_PORT === undefined ? {} : { port: cfg.DATABASE_PORT }),
    ...(cfg.DATABASE_PASSWORD === undefined ? {} : { password: cfg.DATABASE_PASSWORD })
  })
  return []
}

/**
 * TRUST_PROXY: `true` trusts every X-Forwarded-For hop, so the client names its own address unless
 * the proxy replaces the header; the proxies' addresses trust only the hops our own proxies
 * appended, whatever the client wrote before them. No hop count: Fastify refuses to trust by count
 * (it cannot tell a proxy from a client connecting directly). Undefined = not a valid value.
 */
export function parseTrustProxy (value: string): boolean | string[] | undefined {
  const v = value.trim().toLowerCase()
  if (v === 'false' || v === '0' || v === '') return false
  if (v === 'true') return true
  const entries = v.split(',').map(e => e.trim()).filter(Boolean)
  const named = new Set(['loopback', 'linklocal', 'uniquelocal'])
  const valid = entries.every(entry => {
    if (named.has(entry)) return true
    const [address, prefix, extra] = entry.split('/')
    const family = isIP(address ?? '')
    if (family === 0 || extra !== undefined) return false
    if (prefix === undefined) return true
    return /^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
  })
  return valid && entries.length > 0 ? entries : undefined
}

function crossChecks (cfg: Static<typeof ConfigSchema>): string[] {
  const problems: string[] = []
  const relaxed = cfg.NODE_ENV === 'test' || cfg.NODE_ENV === 'demo'
  if (!cfg.SECRET_KEY && !relaxed) {
    problems.push('SECRET_KEY: required outside NODE_ENV=test/demo (at least 32 random characters, e.g. `openssl rand -base64 48`)')
  }
  if (!/^(sqlite:|mysql:\/\/|mariadb:\/\/)/.test(cfg.DATABASE_URL)) {
    problems.push('DATABASE_URL: unknown scheme; use sqlite:<file> or mysql://user:pass@host:3306/db')
  } else if (!cfg.DATABASE_URL.startsWith('sqlite:')) {
    try {
      parseMysqlUrl(cfg.DATABASE_URL)
    } catch (err) {
      if (!(err instanceof DatabaseUrlError)) throw err
      problems.push(err.message)
    }
  }
  const lms = [cfg.LMS_URL, cfg.LMS_CLIENT_ID, cfg.LMS_CLIENT_SECRET]
  if (lms.some(Boolean) && !lms.every(Boolean)) {
    problems.push('LMS_URL, LMS_CLIENT_ID, LMS_CLIENT_SECRET: set all three or none')
  }
  if (cfg.LMS_SESSION_HANDOFF === 'relay' && cfg.LMS_URL && !(cfg.LMS_RELAY_CONSUMER_KEY && cfg.LMS_RELAY_CONSUMER_SECRET)) {
    problems.push('LMS_RELAY_CONSUMER_KEY, LMS_RELAY_CONSUMER_SECRET: required by LMS_SESSION_HANDOFF=relay')
  }
  if (parseTrustProxy(cfg.TRUST_PROXY) === undefined) {
    problems.push('TRUST_PROXY: use false, true, or the proxies\' addresses/CIDRs separated by commas (loopback, linklocal, uniquelocal allowed)')
  }
  if (cfg.KAFKA_HEARTBEAT_INTERVAL_MS * 3 > cfg.KAFKA_SESSION_TIMEOUT_MS) {
    problems.push('KAFKA_HEARTBEAT_INTERVAL_MS: must be at most a third of KAFKA_SESSION_TIMEOUT_MS')
  }
  if (cfg.KAFKA_SASL_MECHANISM && !(cfg.KAFKA_SASL_USERNAME && cfg.KAFKA_SASL_PASSWORD)) {
    problems.push('KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM')
  }
  if (Boolean(cfg.SCHEMA_REGISTRY_USERNAME) !== Boolean(cfg.SCHEMA_REGISTRY_PASSWORD)) {
    problems.push('SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD: set both or none')
  }
  if (cfg.KAFKA_BROKERS && cfg.REDIS_URL && !cfg.EVENT_BUS_BACKEND) {
    problems.push('KAFKA_BROKERS, REDIS_URL: both are set; choose the event bus with EVENT_BUS_BACKEND=kafka or EVENT_BUS_BACKEND=redis')
  }
  if (cfg.EVENT_BUS_BACKEND === 'kafka' && !cfg.KAFKA_BROKERS) problems.push('KAFKA_BROKERS: required by EVENT_BUS_BACKEND=kafka')
  if (cfg.EVENT_BUS_BACKEND === 'redis' && !cfg.REDIS_URL) problems.push('REDIS_URL: required by EVENT_BUS_BACKEND=redis')
  if (cfg.REDIS_URL && !validRedisUrl(cfg.REDIS_URL)) {
    problems.push('REDIS_URL: not a usable URL; redis://[:password@]host[:port][/db] or rediss:// (db a number)')
  }
  if (cfg.OUTBOUND_ALLOW_LOOPBACK_HTTP && cfg.NODE_ENV === 'production') {
    problems.push('OUTBOUND_ALLOW_LOOPBACK_HTTP: only allowed with NODE_ENV=test, demo or development')
  }
  try {
    const u = new URL(cfg.PUBLIC_URL)
    if (u.pathname !== '/' && u.pathname !== '') problems.push('PUBLIC_URL: must be an origin without a path')
  } catch {
    problems.push('PUBLIC_URL: not a URL')
  }
  return problems
}

/** redis://[user[:password]@]host[:port][/db]: a host, and a db that is a number when given. */
function validRedisUrl (value: string): boolean {
  try {
    const u = new URL(value)
    return u.hostname !== '' && /^\/?(\d+)?$/.test(u.pathname)
  } catch {
    return false
  }
}

/** The password inside REDIS_URL, if any (for log redaction). */
function redisPassword (url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    return decodeURIComponent(new URL(url).password) || undefined
  } catch {
    return undefined
  }
}

/** Values that must never appear in logs, for the logger's redaction and for tests. */
export function secretValues (cfg: Config): string[] {
  return [cfg.SECRET_KEY, cfg.ADMIN_TOKEN, cfg.LMS_CLIENT_SECRET, cfg.LMS_RELAY_CONSUMER_SECRET,
    cfg.KAFKA_SASL_PASSWORD, cfg.SCHEMA_REGISTRY_PASSWORD, cfg.DATABASE_PASSWORD, redisPassword(cfg.REDIS_URL), cfg.REDIS_URL].filter((v): v is string => Boolean(v))
}
