/** One temporary directory per bench process (mkdtemp), removed at exit or on SIGINT/SIGTERM. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

let dir: string | undefined
let counter = 0

export function tempDir (): string {
  if (dir === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'lti-bench-'))
    dir = made
    const remove = (): void => { rmSync(made, { recursive: true, force: true }) }
    process.once('exit', remove)
    // Stopped from outside: Ctrl-C, or run-all's time limit.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { remove(); process.exit(130) })
  }
  return dir
}

/** A fresh file name inside the process's temporary directory. */
export function tempPath (name: string, ext = ''): string {
  return join(tempDir(), `${name}-${++counter}${ext}`)
}
