#!/usr/bin/env node
/**
 * `lti-provider`: the operator's command. Every subcommand reads the same configuration as the
 * service and exits non-zero with a one-line reason on failure.
 */
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError } from 'commander'
import { ConfigError } from '../config.js'
import { isAppError } from '../errors.js'
import { packageVersion } from '../http/user-agent.js'
import type { FieldProblem } from '../admin/errors.js'
import { describeFieldProblems } from './flag-names.js'
import { registerServeCommand } from './serve.js'
import { registerMigrateCommand } from './migrate.js'
import { registerKeysCommand } from './keys.js'
import { registerAdminCommands } from './admin-commands.js'
import { registerEventsCommand } from './events-command.js'
import { registerGradesCommand } from './grades-command.js'

export function buildProgram (): Command {
  const program = new Command('lti-provider')
    .description('LTI 1.1 / 1.3 tool for Open edX: launches and grade passback')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
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
  // The subcommand that ran, so its errors can name the flags it declares.
  let running: Command | undefined
  program.hook('preAction', (_root, action) => { running = action })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(describeError(err, running) + '\n')
    return 1
  }
}

export function describeError (err: unknown, command?: Command): string {
  if (err instanceof ConfigError) return err.message
  if (isAppError(err)) {
    const fields = (err.details as { fields?: FieldProblem[] } | undefined)?.fields
    if (Array.isArray(fields) && fields.length > 0) return `error ${err.code}: ${err.message}\n${describeFieldProblems(fields, command)}`
    return `error ${err.code}: ${err.message}${err.details ? ' ' + JSON.stringify(err.details) : ''}`
  }
  return `error: ${(err as Error).message ?? String(err)}`
}

/**
 * True when node was started on this file, however it was reached: npm's bin symlink, `npx`, a
 * global install or `npm link` all put a link in process.argv[1], so paths are compared resolved.
 */
export function isMainModule (argv1: string | undefined, moduleUrl: string): boolean {
  if (!argv1) return false
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(moduleUrl))
  } catch {
    return false
  }
}

if (isMainModule(process.argv[1], import.meta.url)) {
  runCli(process.argv.slice(2)).then(code => {
    // serve keeps the event loop alive itself; other commands end here.
    if (code !== 0) process.exitCode = code
  }, err => {
    process.stderr.write(describeError(err) + '\n')
    process.exitCode = 1
  })
}
