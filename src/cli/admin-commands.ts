import type { Command } from 'commander'
import type { WithAdminServices } from '../admin/admin-services.js'
import { migrateLatest } from '../db/migrate.js'
import { withContext } from './context.js'
import { registerConsumersCommand } from './consumers-command.js'
import { registerRegistrationsCommand } from './registrations-command.js'
import { registerPassbacksCommand } from './passbacks-command.js'

/** Runs one admin operation against the configured database, with the services the API uses. */
export const withAdminServices: WithAdminServices = async (fn) => {
  return await withContext(async ({ config, knex, services }) => {
    // As the service does at start (and `keys` here): a fresh database is usable at once.
    if (config.DATABASE_MIGRATE_ON_START) await migrateLatest(knex)
    return await fn(services.admin)
  })
}

/** consumers, registrations and passbacks subcommands (src/cli/*-command.ts) are registered here. */
export function registerAdminCommands (program: Command): void {
  registerConsumersCommand(program, withAdminServices)
  registerRegistrationsCommand(program, withAdminServices)
  registerPassbacksCommand(program, withAdminServices)
}
