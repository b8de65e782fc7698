import fp from 'fastify-plugin'
import type { OutboxWorker } from '../src/grades/outbox-worker.js'

declare module 'fastify' {
  interface FastifyInstance { passbackWorker: OutboxWorker }
}

export interface PassbackWorkerPluginOptions {
  /** false: decorated (kick() is a no-op, metrics still served) but never started. Default true. */
  start?: boolean
}

/**
 * The grade outbox worker's lifecycle: started once the app is ready (never inside register: the
 * 10 s plugin timeout), stopped on close before the database goes (onClose runs LIFO). The worker
 * itself, its clients and its composite scorer come from the services.
 */
export default fp<PassbackWorkerPluginOptions>(async (app, opts) => {
  const worker = app.services.passbackWorker
  app.decorate('passbackWorker', worker)
  if (opts.start ?? true) {
    app.addHook('onReady', async () => { worker.start() })
  }
  app.addHook('onClose', async () => { await worker.stop({ graceMs: app.services.workerStopGraceMs }) })
}, { name: 'passback-worker', dependencies: ['services', 'metrics', 'tool-keys'] })
