import type { Command } from 'commander'
import { migrateLatest } from '../db/migrate.js'
import { formatTable, output, withContext } from './context.js'

export function registerKeysCommand (program: Command): void {
  const keys = program.command('keys').description('the tool\'s signing keys (LTI 1.3)')
  keys.command('list').option('--json', 'machine-readable output').action(async (opts: { json?: boolean }) => {
    await withContext(async ({ knex, services }) => {
      await migrateLatest(knex)
      const toolKeys = services.toolKeys
      await toolKeys.ensure()
      const list = await toolKeys.list()
      output(list, opts, () => formatTable(list as unknown as Array<Record<string, unknown>>, ['kid', 'state', 'alg', 'createdAt', 'activatedAt', 'retiredAt']))
    })
  })
  keys.command('rotate')
    .description('promote the next key to current and publish a new next key')
    .option('--force', 'rotate even if the next key was published less than KEY_ROTATION_GRACE_SECONDS ago')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean, force?: boolean }) => {
      await withContext(async ({ knex, services }) => {
        await migrateLatest(knex)
        const toolKeys = services.toolKeys
        await toolKeys.ensure()
        const list = await toolKeys.rotate({ force: opts.force === true })
        output(list, opts, () => formatTable(list as unknown as Array<Record<string, unknown>>, ['kid', 'state', 'alg', 'createdAt', 'activatedAt', 'retiredAt']))
      })
    })
}
