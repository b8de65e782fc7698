/**
 * knex records migration names with their extension, so the same database migrated once from
 * `.ts` (development, tests) and once from compiled `.js` (production) would look "corrupt"
 * (knex#4037). This source names migrations without extension and loads whichever form sits next
 * to the running code.
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { join } from 'node:path'
import type { Knex } from 'knex'

interface MigrationFile { name: string, path: string }

// src/db/migration-source.(ts|js) → <root>/migrations, where <root> is the repo or dist/.
const here = fileURLToPath(import.meta.url)
const ext = here.endsWith('.ts') ? '.ts' : '.js'
export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url))

export class ExtensionlessMigrationSource implements Knex.MigrationSource<MigrationFile> {
  private readonly dir: string
  constructor (dir: string = migrationsDir) {
    this.dir = dir
  }

  async getMigrations (): Promise<MigrationFile[]> {
    return readdirSync(this.dir)
      .filter(f => f.endsWith(ext) && !f.endsWith('.d.ts'))
      .sort()
      .map(f => ({ name: f.slice(0, -ext.length), path: join(this.dir, f) }))
  }

  getMigrationName (migration: MigrationFile): string {
    return migration.name
  }

  async getMigration (migration: MigrationFile): Promise<Knex.Migration> {
    return await import(pathToFileURL(migration.path).href) as Knex.Migration
  }
}

export const migratorConfig = (): Knex.MigratorConfig => ({
  migrationSource: new ExtensionlessMigrationSource(),
  tableName: 'knex_migrations'
})
