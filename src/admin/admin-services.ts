/** The admin services as one bundle, built once by the composition root (src/compose) for the admin routes and the CLI. */
import type { Knex } from 'knex'
import type { Config } from '../config.js'
import type { SecretBox } from '../crypto/secret-box.js'
import { createConsumersService } from './consumers-service.js'
import { createRegistrationsService } from './registrations-service.js'
import { createPassbacksService } from './passbacks-service.js'
import { createInvitesService } from '../onboarding/invites-service.js'

export interface AdminServicesOptions {
  knex: Knex
  secretBox: SecretBox
  config: Pick<Config, 'publicOrigin' | 'OUTBOUND_ALLOW_LOOPBACK_HTTP' | 'LTI11_TIMESTAMP_WINDOW'>
  now?: () => number
  /** Called after every consumer change (the launch service of this instance drops its cache). */
  onConsumersChanged?: () => void
}

export function createAdminServices (opts: AdminServicesOptions) {
  const now = opts.now ?? Date.now
  return {
    consumers: createConsumersService({ knex: opts.knex, secretBox: opts.secretBox, defaultTimestampWindow: opts.config.LTI11_TIMESTAMP_WINDOW, now, onChanged: opts.onConsumersChanged }),
    registrations: createRegistrationsService({ knex: opts.knex, publicOrigin: opts.config.publicOrigin, allowLoopbackHttp: opts.config.OUTBOUND_ALLOW_LOOPBACK_HTTP, now }),
    passbacks: createPassbacksService({ knex: opts.knex, now }),
    invites: createInvitesService({ knex: opts.knex, publicOrigin: opts.config.publicOrigin, now })
  }
}

export type AdminServices = ReturnType<typeof createAdminServices>

/**
 * Runs one admin operation with a service bundle the caller builds and releases (the CLI opens the
 * database per command); the subcommands take it as a parameter so they can be tested on any database.
 */
export type WithAdminServices = <T>(fn: (services: AdminServices) => Promise<T>) => Promise<T>
