/**
 * DATABASE_URL for MySQL/MariaDB, and the same connection given by parts (DATABASE_HOST, …).
 * Kept apart from connection.ts (no knex here) so the configuration can check it at boot and name
 * the variable, instead of a driver failing later with "URI malformed".
 */
export class DatabaseUrlError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DatabaseUrlError'
  }
}

export interface MysqlTarget {
  host: string
  port: number
  user: string
  password: string
  database: string
  socketPath?: string
}

const ENCODING_HINT = 'percent-encode special characters in the user, password and database name (% as %25, / as %2F, @ as %40, : as %3A, # as %23, ? as %3F), or give DATABASE_HOST, DATABASE_USER, DATABASE_PASSWORD and DATABASE_NAME instead'

function decode (part: string, what: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    // Never the value: it is usually the password.
    throw new DatabaseUrlError(`DATABASE_URL: the ${what} has a % that does not start a percent-encoded byte; ${ENCODING_HINT}`)
  }
}

export function parseMysqlUrl (url: string): MysqlTarget {
  let parsed: URL
  try {
    parsed = new URL(url.replace(/^mariadb:/, 'mysql:'))
  } catch {
    throw new DatabaseUrlError(`DATABASE_URL: not a valid mysql:// URL; ${ENCODING_HINT}`)
  }
  if (parsed.hash) throw new DatabaseUrlError(`DATABASE_URL: has a # (a fragment): ${ENCODING_HINT}`)
  const database = decode(parsed.pathname.replace(/^\//, ''), 'database name')
  if (!database) throw new DatabaseUrlError('DATABASE_URL: mysql:// URL needs a database name')
  if (database.includes('/')) throw new DatabaseUrlError(`DATABASE_URL: the database name has a /; ${ENCODING_HINT}`)
  const socketPath = parsed.searchParams.get('socketPath') ?? undefined
  return {
    host: parsed.hostname || 'localhost',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decode(parsed.username, 'user'),
    password: decode(parsed.password, 'password'),
    database,
    ...(socketPath ? { socketPath } : {})
  }
}

export interface DatabaseParts {
  host: string
  port?: number
  user: string
  password?: string
  name: string
}

/** The parts as a mysql:// URL, each one percent-encoded, so any password survives the round trip. */
export function mysqlUrlFromParts (parts: DatabaseParts): string {
  const auth = encodeURIComponent(parts.user) + (parts.password ? ':' + encodeURIComponent(parts.password) : '')
  const host = parts.host.includes(':') && !parts.host.startsWith('[') ? `[${parts.host}]` : parts.host
  return `mysql://${auth}@${host}:${parts.port ?? 3306}/${encodeURIComponent(parts.name)}`
}
