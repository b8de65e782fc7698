import type { Command } from 'commander'
import { migrateLatest, migrateRollbackAll, migrationStatus } from '../db/migrate.js'
import { withContext } from './context.js'

export function registerMigrateCommand (program: Command): void {
  const migrate = program.command('migrate')
    .description('apply pending database migrations (exits non-zero on failure)')
    .action(async () => {
      await withContext(async ({ knex }) => {
        const applied = await migrateLatest(knex)
        process.stdout.write(applied.length ? `applied ${applied.length} migration(s):\n${applied.map(a => '  ' + a).join('\n')}\n` : 'database is up to date\n')
      })
    })
  migrate.command('status').description('list applied and pending migrations').action(async () => {
    await withContext(async ({ knex }) => {
      const { completed, pending } = await migrationStatus(knex)
      process.stdout.write(`applied: ${completed.length}\npending: ${pending.length}\n${pending.map(p => '  ' + p).join('\n')}${pending.length ? '\n' : ''}`)
    })
  })
  migrate.command('rollback-all').description('undo every migration (drops all tables: development only)')
    .requiredOption('--yes', 'confirm that all data will be lost')
    .action(async () => {
      await withContext(async ({ knex }) => {
        const rolled = await migrateRollbackAll(knex)
        process.stdout.write(`rolled back ${rolled.length} migration(s)\n`)
      })
    })
}
