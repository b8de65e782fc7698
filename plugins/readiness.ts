import fp from 'fastify-plugin'
import { isDatabaseUnavailable } from '../src/db/connection.js'

export interface ReadinessCheck { (): Promise<{ ok: boolean, detail?: string }> }

declare module 'fastify' {
  interface FastifyInstance {
    readiness: {
      add (name: string, check: ReadinessCheck): void
      /** `only`: run just these checks (e.g. what serving HTTP needs), else all. */
      run (only?: readonly string[]): Promise<{ ready: boolean, checks: Record<string, { ok: boolean, detail?: string }> }>
    }
  }
}

/** /ready aggregates named checks: the database here, the event consumer once it exists. */
export default fp(async (app) => {
  const checks = new Map<string, ReadinessCheck>()
  checks.set('database', async () => {
    try {
      await app.knex.raw('select 1')
    } catch (err) {
      // The driver's message names the database host and port: /ready shows only the code.
      const code = (err as { code?: unknown }).code
      return { ok: false, detail: `${isDatabaseUnavailable(err) ? 'DATABASE_UNAVAILABLE' : 'DATABASE_ERROR'}${typeof code === 'string' ? ` (${code})` : ''}` }
    }
    return { ok: true }
  })
  app.decorate('readiness', {
    add (name: string, check: ReadinessCheck) { checks.set(name, check) },
    async run (only?: readonly string[]) {
      const results: Record<string, { ok: boolean, detail?: string }> = {}
      let ready = true
      for (const [name, check] of checks) {
        if (only !== undefined && !only.includes(name)) continue
        try {
          results[name] = await Promise.race([
            check(),
            new Promise<{ ok: boolean, detail: string }>(resolve => setTimeout(() => resolve({ ok: false, detail: 'timed out' }), 2000).unref())
          ])
        } catch (err) {
          results[name] = { ok: false, detail: (err as Error).message.slice(0, 200) }
        }
        if (!results[name]?.ok) ready = false
      }
      return { ready, checks: results }
    }
  })
}, { name: 'readiness', dependencies: ['db'] })
