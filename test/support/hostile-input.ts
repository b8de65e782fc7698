/**
 * Shared checks for the property-based adversarial tests (test/adversarial/): what every answer to
 * a hostile request must look like, row counts to prove nothing was stored, and a counter of the
 * hostile inputs tried so each file can print its figure.
 */
import type { Knex } from 'knex'

export interface InjectAnswer {
  statusCode: number
  body: string
  headers: Record<string, string | string[] | number | undefined>
}

/** The stable code of a refusal: from the HTML error page or the JSON error body. */
export function refusalCode (res: InjectAnswer): string | undefined {
  const html = /Error code: <code>([A-Z0-9_]+)<\/code>/.exec(res.body)
  if (html !== null) return html[1]
  try {
    const json = JSON.parse(res.body) as { code?: unknown }
    return typeof json.code === 'string' ? json.code : undefined
  } catch {
    return undefined
  }
}

/** Text that only a leaked stack, SQL error or internal exception would put in a body. */
const INTERNAL_TEXT = [
  /\bat [^\n]*\.(?:ts|js|mjs|cjs):\d+/, // stack frame
  /node_modules/,
  /\b(?:TypeError|ReferenceError|RangeError|SyntaxError|URIError)\b/,
  /\bER_[A-Z_]+\b|SQLITE_[A-Z]+|\bsql_mode\b|\binsert into\b|\bselect \* from\b/i,
  /INTERNAL_ERROR/
]

/**
 * Why `res` is not an acceptable answer to a hostile request (undefined when it is): a 5xx other
 * than those `allow5xx` names, internal text or a secret in the body, or a header carrying CR/LF.
 * fast-check properties return `failure(...) === undefined` so the counterexample is printed with it.
 */
export function unsafeAnswer (res: InjectAnswer, secrets: readonly string[], allow5xx: readonly number[] = []): string | undefined {
  if (res.statusCode >= 500 && !allow5xx.includes(res.statusCode)) return `status ${res.statusCode} ${refusalCode(res) ?? '(no code)'}`
  for (const pattern of INTERNAL_TEXT) {
    if (pattern.test(res.body)) return `internal text ${String(pattern)} in body: ${res.body.slice(0, 300)}`
  }
  for (const secret of secrets) {
    if (secret !== '' && res.body.includes(secret)) return `secret ${secret.slice(0, 4)}… in body`
  }
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : [String(value)]) {
      if (/[\r\n\0]/.test(v)) return `header ${name} carries CR/LF/NUL`
    }
  }
  return undefined
}

/** Why `res` is not the refusal expected (undefined when it is), after the generic safety checks. */
export function notRefusal (res: InjectAnswer, expected: { status: number | readonly number[], code: string | RegExp | readonly string[] }, secrets: readonly string[]): string | undefined {
  const unsafe = unsafeAnswer(res, secrets)
  if (unsafe !== undefined) return unsafe
  const statuses = typeof expected.status === 'number' ? [expected.status] : expected.status
  const code = refusalCode(res)
  const codeOk = code !== undefined && (typeof expected.code === 'string'
    ? code === expected.code
    : expected.code instanceof RegExp ? expected.code.test(code) : expected.code.includes(code))
  if (!statuses.includes(res.statusCode) || !codeOk) return `expected ${statuses.join('|')} ${String(expected.code)}, got ${res.statusCode} ${code ?? '(no code)'}: ${res.body.slice(0, 300)}`
  return undefined
}

/** Row counts of `tables`, to compare before and after a refused request. */
export async function countRows (knex: Knex, tables: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of tables) counts[table] = Number((await knex(table).count({ n: '*' }).first())?.n)
  return counts
}

/** Why two row counts differ (undefined when equal). */
export function countsChanged (before: Record<string, number>, after: Record<string, number>): string | undefined {
  const changed = Object.keys(before).filter(table => before[table] !== after[table])
  return changed.length === 0 ? undefined : `rows changed: ${changed.map(table => `${table} ${before[table]}→${after[table]}`).join(', ')}`
}

/** Counts hostile inputs sent, per file. */
export function createTally (): { add (n?: number): void, readonly total: number } {
  let total = 0
  return {
    add (n = 1) { total += n },
    get total () { return total }
  }
}

/** Texts built to break parsers, logs, headers and databases. */
export const HOSTILE_STRINGS: readonly string[] = [
  '', ' ', '\u0000', 'a\u0000b', '\r\nSet-Cookie: pwned=1', '\r\nLocation: https://evil.example/', '%0d%0aX-Evil: 1',
  '\u2028\u2029', '\ud800', '\udc00x', '\ufeff', '\u202e', '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
  "' OR '1'='1", '"; DROP TABLE lti_users; --', '../../../../etc/passwd', '..\\..\\windows\\win.ini', '%00', '%2e%2e%2f',
  '__proto__', 'constructor', 'prototype', '{"__proto__":{"polluted":true}}', '${7*7}', '{{7*7}}', 'javascript:alert(1)',
  'x'.repeat(256), 'é'.repeat(300), '😀'.repeat(200), 'null', 'undefined', 'NaN', '-1', '1e309', '0x7fffffff', '\\u0000'
]
