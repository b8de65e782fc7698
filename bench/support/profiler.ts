/**
 * CPU profile of a measured window only (not the setup around it), through the inspector in this
 * process: `--profile <dir>` on any part writes `<dir>/<part>-<label>.cpuprofile`, readable by
 * Chrome DevTools, speedscope, or `node bench/support/profile-summary.mjs <file>`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'

export interface WindowProfiler {
  run: <T>(label: string, fn: () => Promise<T>) => Promise<T>
}

export function createWindowProfiler (part: string, dir: string | undefined): WindowProfiler {
  if (dir === undefined) return { run: async (_label, fn) => await fn() }
  mkdirSync(dir, { recursive: true })
  return {
    async run (label, fn) {
      const session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 500 })
      await session.post('Profiler.start')
      try {
        return await fn()
      } finally {
        const { profile } = await session.post('Profiler.stop')
        const file = join(dir, `${part}-${label}.cpuprofile`)
        writeFileSync(file, JSON.stringify(profile))
        process.stderr.write(`cpu profile: ${file}\n`)
        session.disconnect()
      }
    }
  }
}
