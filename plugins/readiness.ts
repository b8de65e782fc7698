import fp from 'fastify-plugin'

export interface ReadinessCheck { (): Promise<{ ok: boolean, detail?: string }> }

declare module 'fastify' {
  interface FastifyInstance {
    readiness: {
      add (name: string, check: ReadinessCheck): void
      run (): Promise<{ ready: boolean, checks: Record<string, { ok: boolean, detail?: string }> }>
    }
  }
}

/** /ready aggregates named checks: the database here, the event consumer once it exists. */
export default fp(async (app) => {
  const checks = new Map<string, ReadinessCheck>()
  checks.set('database', async () => {
    await app.knex.raw('select 1')
    return { ok: true }
  })
  app.decorate('readiness', {
    add (name: string, check: ReadinessCheck) { checks.set(name, check) },
    async run () {
      const results: Record<string, { ok: boolean, detail?: string }> = {}
      let ready = true
      for (const [name, check] of checks) {
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
