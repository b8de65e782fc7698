import type { Knex } from 'knex'
import { migratorConfig } from './migration-source.js'

/** Applies pending migrations; returns their names. Throws (never swallows) on failure. */
export async function migrateLatest (knex: Knex): Promise<string[]> {
  const [, applied] = await knex.migrate.latest(migratorConfig()) as [number, string[]]
  return applied
}

export async function migrateRollbackAll (knex: Knex): Promise<string[]> {
  const [, rolled] = await knex.migrate.rollback(migratorConfig(), true) as [number, string[]]
  return rolled
}

export async function migrationStatus (knex: Knex): Promise<{ completed: string[], pending: string[] }> {
  const [completed, pending] = await knex.migrate.list(migratorConfig()) as [Array<{ name: string }>, Array<{ file: string } | { name: string }>]
  return {
    completed: completed.map(c => c.name),
    pending: pending.map(p => ('name' in p ? p.name : p.file))
  }
}
