/**
 * Builds the real app on a fresh test database and closes both in teardown. No listen(): tests use
 * `app.inject()`, except where a real socket is the point.
 */
import type { FastifyInstance } from 'fastify'
import { loadConfig, type Config } from '../../src/config.js'
import { buildServer } from '../../src/server.js'
import { createTestDb, type TestDb } from './db.js'

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop'

interface Teardown { teardown (fn: () => unknown): void }

export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    KEY_ROTATION_GRACE_SECONDS: '0',
    OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true',
    // Tests that want the worker turn it on; otherwise it would deliver (or kill) jobs they insert by hand.
    PASSBACK_WORKER_ENABLED: 'false',
    ...env
  }, { envFile: false })
}

export async function buildTestApp (t: Teardown, env: Record<string, string> = {}, db?: TestDb): Promise<{ app: FastifyInstance, db: TestDb, config: Config }> {
  const testDb = db ?? await createTestDb(t)
  const config = testConfig({ DATABASE_URL: testDb.url, ...env })
  const app = await buildServer(config, { knex: testDb.knex })
  await app.ready()
  t.teardown(() => app.close())
  return { app, db: testDb, config }
}

export const adminHeaders = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` }
