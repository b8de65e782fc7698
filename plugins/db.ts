import fp from 'fastify-plugin'
import type { Knex } from 'knex'
import { createKnex } from '../src/db/connection.js'
import { migrateLatest } from '../src/db/migrate.js'

declare module 'fastify' {
  interface FastifyInstance { knex: Knex }
}

export interface DbPluginOptions {
  /** An existing knex (tests share one per file); the plugin then does not destroy it. */
  knex?: Knex
  migrate?: boolean
}

/** Owns the knex pool: opened first, destroyed last (onClose runs LIFO). */
export default fp<DbPluginOptions>(async (app, opts) => {
  const owned = !opts.knex
  const knex = opts.knex ?? createKnex({ url: app.config.DATABASE_URL, poolMax: app.config.DATABASE_POOL_MAX })
  if (owned) {
    app.addHook('onClose', async () => { await knex.destroy() })
  }
  if (opts.migrate ?? app.config.DATABASE_MIGRATE_ON_START) {
    const applied = await migrateLatest(knex)
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated')
  }
  app.decorate('knex', knex)
}, { name: 'db', dependencies: ['config'] })
