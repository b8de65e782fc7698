/** A configured database and the services the CLI drives (src/compose), closed after the command. */
import type { Knex } from 'knex'
import { loadConfig, type Config } from '../config.js'
import { createKnex } from '../db/connection.js'
import { buildServices, type Services } from '../compose/services.js'
import type { ServiceOverrides } from '../compose/overrides.js'
import { stderrLog } from './stderr-log.js'

export interface CliContext { config: Config, knex: Knex, services: Services }

export type WithContext = <T>(fn: (ctx: CliContext) => Promise<T>) => Promise<T>

/**
 * Runs `fn` with the services built over `knex` (default: a small pool from DATABASE_URL, destroyed
 * afterwards). The services are closed first (they may still use the pool), then the pool.
 */
export function contextFor (options: { config?: Config, knex?: Knex, overrides?: ServiceOverrides } = {}): WithContext {
  return async (fn) => {
    const config = options.config ?? loadConfig()
    const knex = options.knex ?? createKnex({ url: config.DATABASE_URL, poolMax: 2 })
    const services = buildServices({ config, knex, log: stderrLog(), overrides: options.overrides })
    try {
      return await fn({ config, knex, services })
    } finally {
      try {
        await services.close()
      } finally {
        if (options.knex === undefined) await knex.destroy()
      }
    }
  }
}

/** The configured database and services (loadConfig, DATABASE_URL). */
export const withContext: WithContext = async (fn) => await contextFor()(fn)

/** Prints JSON for scripts, or the given table for people. */
export function output (value: unknown, opts: { json?: boolean }, table?: () => string): void {
  // Advice the admin services attach (an empty content scope) goes to stderr, so --json stays parseable.
  const warnings = (value as { warnings?: unknown } | null)?.warnings
  if (Array.isArray(warnings)) for (const w of warnings) process.stderr.write(`warning: ${String(w)}\n`)
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
