/**
 * The grade outbox (`passbacks`) as the admin sees it: listing with the consumer or registration a
 * job belongs to (through its graded assignment / graded resource), and putting failed or dead jobs
 * back in the queue. The worker's claim/complete queries are claims.ts, the stale check
 * versions.ts. Optional transaction on every method; the caller owns it.
 */
import type { Knex } from 'knex'
import { RetryableStatuses, type PassbackFilter, type PassbackJob, type PassbackStatus, type RetryableStatus, type RetryScope } from '../../grades/outbox-types.js'
import { nullableNumber, type PassbackRow } from './rows.js'
import { newerJobs, outerJob } from './versions.js'

type JoinedRow = PassbackRow & {
  consumer_id: number | null
  registration_id: number | null
  ga_course_key: string | null
  ga_usage_key: string | null
  gr_course_key: string | null
  gr_usage_key: string | null
}

export function createOutboxAdminQueries (knex: Knex) {
  const db = (trx?: Knex.Transaction) => trx ?? knex

  function joined (trx?: Knex.Transaction): Knex.QueryBuilder {
    return db(trx)('passbacks as p')
      .leftJoin('graded_assignments as ga', 'ga.id', 'p.graded_assignment_id')
      .leftJoin('outcome_services as os', 'os.id', 'ga.outcome_service_id')
      .leftJoin('graded_resources as gr', 'gr.id', 'p.graded_resource_id')
      .leftJoin('lti_profiles as lp', 'lp.id', 'gr.profile_id')
      .select('p.*', 'os.consumer_id as consumer_id', 'lp.registration_id as registration_id',
        'ga.course_key as ga_course_key', 'ga.usage_key as ga_usage_key',
        'gr.course_key as gr_course_key', 'gr.usage_key as gr_usage_key')
  }

  function filtered (filter: PassbackFilter, trx?: Knex.Transaction): Knex.QueryBuilder {
    const query = joined(trx)
    if (filter.status !== undefined) query.where('p.status', filter.status)
    if (filter.consumerId !== undefined) query.where('os.consumer_id', filter.consumerId)
    if (filter.registrationId !== undefined) query.where('lp.registration_id', filter.registrationId)
    if (filter.before !== undefined) query.where('p.id', '<', filter.before)
    return query
  }

  /** A job for the same target as the outer row `p` with a higher version. */
  const newerVersion = () => newerJobs(knex, outerJob(knex, 'p')).select(knex.raw('1'))

  function inScope (status: RetryableStatus, scope: RetryScope, trx?: Knex.Transaction): Knex.QueryBuilder {
    const query = db(trx)('passbacks as p').where('p.status', status)
    if (scope.consumerId !== undefined) {
      const consumerId = scope.consumerId
      query.whereIn('p.graded_assignment_id', function () {
        this.select('ga.id').from('graded_assignments as ga')
          .join('outcome_services as os', 'os.id', 'ga.outcome_service_id')
          .where('os.consumer_id', consumerId)
      })
    }
    if (scope.registrationId !== undefined) {
      const registrationId = scope.registrationId
      query.whereIn('p.graded_resource_id', function () {
        this.select('gr.id').from('graded_resources as gr')
          .join('lti_profiles as lp', 'lp.id', 'gr.profile_id')
          .where('lp.registration_id', registrationId)
      })
    }
    return query
  }

  return {
    /** Newest first. */
    async list (filter: PassbackFilter, limit: number, trx?: Knex.Transaction): Promise<PassbackJob[]> {
      const rows = await filtered(filter, trx).orderBy('p.id', 'desc').limit(limit) as JoinedRow[]
      return rows.map(fromRow)
    },

    async findById (id: number, trx?: Knex.Transaction): Promise<PassbackJob | undefined> {
      const row = await joined(trx).where('p.id', id).first() as JoinedRow | undefined
      return row ? fromRow(row) : undefined
    },

    /** True when a job for the same target with a higher version exists: the older score is stale. */
    async hasNewerVersion (id: number, trx?: Knex.Transaction): Promise<boolean> {
      const row = await db(trx)('passbacks as p').where('p.id', id).whereExists(newerVersion()).first('p.id')
      return row !== undefined
    },

    /**
     * Ids of jobs in `status` that are the newest version for their target, optionally limited to
     * one consumer or registration. Retrying an older one would send a stale score after a newer one.
     */
    async listRetryableIds (status: RetryableStatus, scope: RetryScope, trx?: Knex.Transaction): Promise<number[]> {
      const rows = await inScope(status, scope, trx).select('p.id')
        .whereNotExists(newerVersion())
        .orderBy('p.id', 'asc') as Array<{ id: number | string }>
      return rows.map(r => Number(r.id))
    },

    /** How many jobs in `status` (and scope) are stale: a newer version exists for their target. */
    async countStale (status: RetryableStatus, scope: RetryScope, trx?: Knex.Transaction): Promise<number> {
      const row = await inScope(status, scope, trx).whereExists(newerVersion()).count({ n: '*' }).first() as { n: number | string } | undefined
      return Number(row?.n ?? 0)
    },

    /**
     * failed/dead → pending, due now, lease cleared; attempts and the last error are kept (the worker
     * overwrites the error on its next attempt). Only rows still in a retryable state change, so
     * a job the worker moved meanwhile is left alone. Returns the number of jobs requeued.
     */
    async requeue (ids: readonly number[], now: number, trx?: Knex.Transaction): Promise<number> {
      let changed = 0
      // Bounded IN lists: MySQL and SQLite both limit the size of one statement.
      for (let i = 0; i < ids.length; i += 500) {
        changed += await db(trx)('passbacks')
          .whereIn('id', ids.slice(i, i + 500))
          .whereIn('status', RetryableStatuses)
          .update({ status: 'pending', due_at: now, lease_until: null, lease_owner: null, updated_at: now })
      }
      return changed
    }
  }
}

export type OutboxAdminQueries = ReturnType<typeof createOutboxAdminQueries>

function fromRow (row: JoinedRow): PassbackJob {
  return {
    id: Number(row.id),
    kind: row.kind === 'lti13' ? 'lti13' : 'lti11',
    // Written by the worker; shown as stored even if a later version adds a state.
    status: row.status as PassbackStatus,
    targetKey: row.target_key,
    version: Number(row.version),
    method: row.method,
    scoreGiven: nullableNumber(row.score_given),
    scoreMaximum: nullableNumber(row.score_maximum),
    platformHost: row.platform_host,
    attempts: Number(row.attempts),
    lastError: row.last_error,
    dueAt: Number(row.due_at),
    deliveredAt: nullableNumber(row.delivered_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    consumerId: nullableNumber(row.consumer_id),
    registrationId: nullableNumber(row.registration_id),
    courseKey: row.ga_course_key ?? row.gr_course_key ?? null,
    usageKey: row.ga_usage_key ?? row.gr_usage_key ?? null
  }
}
