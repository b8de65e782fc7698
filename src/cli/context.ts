/** A configured, migrated database and the services the CLI drives, closed after the command. */
import type { Knex } from 'knex'
import { loadConfig, type Config } from '../config.js'
import { createKnex } from '../db/connection.js'
import { createSecretBox, type SecretBox } from '../crypto/secret-box.js'

export interface CliContext { config: Config, knex: Knex, secretBox: SecretBox }

export async function withContext<T> (fn: (ctx: CliContext) => Promise<T>): Promise<T> {
  const config = loadConfig()
  const knex = createKnex({ url: config.DATABASE_URL, poolMax: 2 })
  try {
    return await fn({ config, knex, secretBox: createSecretBox(config.secretKey) })
  } finally {
    await knex.destroy()
  }
}

/** Prints JSON for scripts, or the given table for people. */
export function output (value: unknown, opts: { json?: boolean }, table?: () => string): void {
  if (opts.json || !table) process.stdout.write(JSON.stringify(value, null, 2) + '\n')
  else process.stdout.write(table())
}

export function formatTable (rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)\n'
  const cells = rows.map(r => columns.map(c => r[c] === null || r[c] === undefined ? '' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c])))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map(row => row[i]!.length)))
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd() + '\n'
  return line(columns) + cells.map(line).join('')
}
