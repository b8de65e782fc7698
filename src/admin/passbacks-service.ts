/**
 * The grade outbox as an admin drives it: list jobs with their last error, put a failed or dead
 * job back in the queue (due now, attempts kept), or requeue all dead jobs of one consumer or
 * registration. A job is never requeued when a newer version exists for its target: the platform
 * would otherwise receive an older score after a newer one.
 */
import type { Knex } from 'knex'
import { createLti11ConsumersRepository } from '../db/repositories/lti11-consumers-repository.js'
import { createLti13RegistrationsRepository } from '../db/repositories/lti13-registrations-repository.js'
import { createOutboxAdminQueries } from '../db/outbox/admin-queries.js'
import { RetryableStatuses, type PassbackJob } from '../grades/outbox-types.js'
import {
  BulkRetrySchema, PassbackListInputSchema,
  type BulkRetry, type BulkRetryResult, type PassbackList, type PassbackListInput, type PassbackView
} from '../../schemas/http/admin-passbacks.js'
import { AdminErrors, invalidFields, notFound } from './errors.js'
import { assertSchema } from './validate-input.js'
import { isoTime, isoTimeOrNull } from './iso-time.js'

export const DEFAULT_PASSBACK_PAGE = 50

export interface PassbacksServiceOptions {
  knex: Knex
  now?: () => number
}

export function createPassbacksService (opts: PassbacksServiceOptions) {
  const passbacks = createOutboxAdminQueries(opts.knex)
  const consumers = createLti11ConsumersRepository(opts.knex)
  const registrations = createLti13RegistrationsRepository(opts.knex)
  const now = opts.now ?? Date.now

  return {
    /** Newest first; `nextBefore` is the cursor of the next page (null on the last one). */
    async list (input: PassbackListInput = {}): Promise<PassbackList> {
      assertSchema(PassbackListInputSchema, input)
      const limit = input.limit ?? DEFAULT_PASSBACK_PAGE
      const rows = await passbacks.list({
        status: input.status, consumerId: input.consumerId, registrationId: input.registrationId, before: input.before
      }, limit + 1)
      const page = rows.slice(0, limit)
      return { passbacks: page.map(passbackView), nextBefore: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null }
    },

    async get (id: number): Promise<PassbackView> {
      const job = await passbacks.findById(id)
      if (!job) throw notFound('passback', id)
      return passbackView(job)
    },

    async retry (id: number): Promise<PassbackView> {
      return await opts.knex.transaction(async trx => {
        const job = await passbacks.findById(id, trx)
        if (!job) throw notFound('passback', id)
        if (!(RetryableStatuses as readonly string[]).includes(job.status)) {
          throw AdminErrors('ADMIN_PASSBACK_NOT_RETRYABLE', { id, status: job.status })
        }
        if (await passbacks.hasNewerVersion(id, trx)) throw AdminErrors('ADMIN_PASSBACK_STALE', { id, version: job.version })
        // The update re-checks the status: a worker that moved the job meanwhile wins.
        if (await passbacks.requeue([id], now(), trx) === 0) {
          throw AdminErrors('ADMIN_PASSBACK_NOT_RETRYABLE', { id, status: 'changed' })
        }
        const requeued = await passbacks.findById(id, trx)
        /* c8 ignore next -- read back inside the updating transaction */
        if (!requeued) throw notFound('passback', id)
        return passbackView(requeued)
      })
    },

    /** Requeues every job in `status` (default dead), optionally of one consumer or registration. */
    async retryMany (input: BulkRetry = {}): Promise<BulkRetryResult> {
      assertSchema(BulkRetrySchema, input)
      if (input.consumerId !== undefined && input.registrationId !== undefined) {
        throw invalidFields([{ field: 'registrationId', message: 'give consumerId or registrationId, not both' }])
      }
      const status = input.status ?? 'dead'
      const scope = { consumerId: input.consumerId, registrationId: input.registrationId }
      return await opts.knex.transaction(async trx => {
        if (input.consumerId !== undefined && !await consumers.findById(input.consumerId, trx)) throw notFound('consumer', input.consumerId)
        if (input.registrationId !== undefined && !await registrations.findById(input.registrationId, trx)) throw notFound('registration', input.registrationId)
        const ids = await passbacks.listRetryableIds(status, scope, trx)
        const retried = await passbacks.requeue(ids, now(), trx)
        const skippedStale = await passbacks.countStale(status, scope, trx)
        return { retried, skippedStale }
      })
    }
  }
}

export type PassbacksService = ReturnType<typeof createPassbacksService>

export function passbackView (j: PassbackJob): PassbackView {
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    targetKey: j.targetKey,
    version: j.version,
    method: j.method,
    scoreGiven: j.scoreGiven,
    scoreMaximum: j.scoreMaximum,
    platformHost: j.platformHost,
    attempts: j.attempts,
    lastError: j.lastError,
    dueAt: isoTime(j.dueAt),
    deliveredAt: isoTimeOrNull(j.deliveredAt),
    createdAt: isoTime(j.createdAt),
    updatedAt: isoTime(j.updatedAt),
    consumerId: j.consumerId,
    registrationId: j.registrationId,
    courseKey: j.courseKey,
    usageKey: j.usageKey
  }
}
