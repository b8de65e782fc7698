import type { Command } from 'commander'

/** consumers, registrations and passbacks subcommands (src/cli/*-command.ts) are registered here. */
export function registerAdminCommands (_program: Command): void {
}
