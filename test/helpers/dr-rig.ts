/**
 * Shared by the Dynamic Registration tests: the real app (logs captured) beside a fake LTI 1.3
 * platform that carries Moodle- or Canvas-shaped registration endpoints, and small helpers.
 */
import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Knex } from 'knex'
import app from '../../src/app.js'
import { serverOptions } from '../../src/server.js'
import { adminHeaders, testConfig } from './build-app.js'
import { createTestDb } from './db.js'
import { startFakeLti13Platform, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { attachDynamicRegistration, type FakeDr, type FakeDrOptions } from '../support/fake-dr-platform.js'

interface Teardown { teardown (fn: () => unknown): void }

export const PUBLIC_URL = 'https://tool.example.org'
export const LAUNCH_URL = `${PUBLIC_URL}/lti/1.3/launch`

export interface DrRig { app: FastifyInstance, lines: string[], platform: FakeLti13Platform, dr: FakeDr }

export async function startDrRig (t: Teardown, dr: FakeDrOptions, env: Record<string, string> = {}): Promise<DrRig> {
  const platform = await startFakeLti13Platform({
    redirectUris: [String(new URL('/lti/1.3/launch', env.PUBLIC_URL ?? PUBLIC_URL))],
    // Canvas client ids are numbers (as strings); Moodle's are random strings.
    clientId: dr.shape === 'canvas' ? '10000000000042' : 'Kq3xV7bN2mWcT9p'
  })
  t.teardown(() => platform.close())
  const db = await createTestDb(t)
  const config = testConfig({ DATABASE_URL: db.url, PUBLIC_URL, LOG_LEVEL: 'info', ...env })
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _enc, done) { lines.push(String(chunk)); done() } })
  const options = serverOptions(config)
  const server = Fastify({ ...options, logger: { ...(options.logger as object), stream } })
  await server.register(app, { config, knex: db.knex })
  await server.ready()
  t.teardown(() => server.close())
  return { app: server, lines, platform, dr: attachDynamicRegistration(platform, dr) }
}

export async function createInvite (app: FastifyInstance, body: Record<string, unknown> = {}): Promise<{ id: number, url: string, expiresAt: string }> {
  const res = await app.inject({ method: 'POST', url: '/admin/api/v1/lti13/registration-invites', headers: adminHeaders, payload: body })
  if (res.statusCode !== 201) throw new Error(`invite refused: ${res.body}`)
  return res.json()
}

export async function inviteView (app: FastifyInstance, id: number): Promise<Record<string, unknown>> {
  return (await app.inject({ url: `/admin/api/v1/lti13/registration-invites/${id}`, headers: adminHeaders })).json()
}

/** The platform opening the tool's registration URL in a browser frame. */
export async function openRegistration (app: FastifyInstance, path: string) {
  return await app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
}

export async function stored (knex: Knex): Promise<{ registrations: number, deployments: number }> {
  const n = async (table: string) => Number((await knex(table).count({ n: '*' }).first())?.n)
  return { registrations: await n('lti13_registrations'), deployments: await n('lti13_deployments') }
}
