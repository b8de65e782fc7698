/**
 * The admin services name problems by their input fields (`allowedAlgorithms.0`), as the HTTP API
 * does; a person at the command line typed flags (`--algorithm`). This maps one to the other using
 * the options the running command declares, so the message points at what to retype.
 */
import type { Command } from 'commander'
import type { FieldProblem } from '../admin/errors.js'

/** Fields whose flag is not their name, singular or without `Id` (the rest follow from commander). */
const FIELD_FLAGS: Record<string, string> = {
  allowedAlgorithms: '--algorithm',
  expiresInSeconds: '--expires'
}

function flagOf (field: string, command: Command): string | undefined {
  const head = field.split('.')[0] ?? field
  if (FIELD_FLAGS[head]) return FIELD_FLAGS[head]
  const candidates = [head, head.replace(/s$/, ''), head.replace(/Id$/, '')]
  for (const name of candidates) {
    const option = command.options.find(o => o.long && !o.negate && o.attributeName() === name)
    if (option?.long) return option.long
  }
  const argument = command.registeredArguments.find(a => a.name() === head)
  return argument ? `<${argument.name()}>` : undefined
}

/** `--content-scope: is not valid Unicode text`, one line per problem, in the order given. */
export function describeFieldProblems (problems: FieldProblem[], command: Command | undefined): string {
  return problems.map(p => {
    const name = (command && flagOf(p.field, command)) ?? p.field
    return `  ${name}: ${p.message}`
  }).join('\n')
}
