/**
 * The commands' logger: warnings and errors to stderr as JSON lines (what a service would log), the
 * rest dropped, so stdout stays the command's output for scripts. Fastify's logger interface, so
 * the services the CLI shares with the server take it unchanged.
 */
import type { FastifyBaseLogger } from 'fastify'

type LogFn = FastifyBaseLogger['info']

export function stderrLog (bindings: Record<string, unknown> = {}, write: (line: string) => void = line => { process.stderr.write(line) }): FastifyBaseLogger {
  const drop: LogFn = () => {}
  const line = (level: string): LogFn => ((first: unknown, second?: unknown) => {
    const [fields, msg] = typeof first === 'string' ? [{}, first] : [first instanceof Error ? { err: { message: first.message } } : first as object, second]
    write(JSON.stringify({ level, msg, ...bindings, ...fields }) + '\n')
  }) as LogFn
  return {
    level: 'warn',
    trace: drop,
    debug: drop,
    info: drop,
    silent: drop,
    warn: line('warn'),
    error: line('error'),
    fatal: line('fatal'),
    child: (more) => stderrLog({ ...bindings, ...more }, write)
  }
}
