#!/usr/bin/env node
/**
 * `lti-provider`: the operator's command. Every subcommand reads the same configuration as the
 * service and exits non-zero with a one-line reason on failure.
 */
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config.js'
import { isAppError } from '../errors.js'
import { registerServeCommand } from './serve.js'
import { registerMigrateCommand } from './migrate.js'
import { registerKeysCommand } from './keys.js'
import { registerAdminCommands } from './admin-commands.js'
import { registerEventsCommand } from './events-command.js'
import { registerGradesCommand } from './grades-command.js'

export function buildProgram (): Command {
  const program = new Command('lti-provider')
    .description('LTI 1.1 / 1.3 tool for Open edX: launches and grade passback')
    .showHelpAfterError()
    // Before the subcommands exist, so they inherit it: parse errors throw instead of exiting.
    .exitOverride()
  registerServeCommand(program)
  registerMigrateCommand(program)
  registerKeysCommand(program)
  registerAdminCommands(program)
  registerEventsCommand(program)
  registerGradesCommand(program)
  return program
}

export async function runCli (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(describeError(err) + '\n')
    return 1
  }
}

export function describeError (err: unknown): string {
  if (err instanceof ConfigError) return err.message
  if (isAppError(err)) return `error ${err.code}: ${err.message}${err.details ? ' ' + JSON.stringify(err.details) : ''}`
  return `error: ${(err as Error).message ?? String(err)}`
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.js') || process.argv[1]?.endsWith('/cli/main.ts')
if (isMain) {
  runCli(process.argv.slice(2)).then(code => {
    // serve keeps the event loop alive itself; other commands end here.
    if (code !== 0) process.exitCode = code
  }, err => {
    process.stderr.write(describeError(err) + '\n')
    process.exitCode = 1
  })
}
