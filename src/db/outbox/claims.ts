/**
 * The delivery side of the grade outbox (`passbacks`): claiming due jobs under a lease, writing
 * each attempt's result, and reading what a delivery needs about its target. The writing side is
 * writer.ts, the admin view admin-queries.ts, the version guards versions.ts.
 *
 * Claiming: on MySQL/MariaDB a short transaction `SELECT … FOR UPDATE SKIP LOCKED` then `UPDATE`,
 * so several instances share the queue without ever claiming one row twice; on SQLite (one
 * connection, one writer) the same SELECT + `UPDATE … WHERE id IN (…)` inside one transaction.
 * A claim sets status `delivering`, the owner, a lease deadline, and counts the attempt (so a job
 * that kills its worker every time still runs out of attempts). Every completion is fenced by
 * (status `delivering`, owner): a worker whose lease expired and was re-claimed elsewhere cannot
 * overwrite the new owner's result.
 */
import type { Knex } from 'knex'
import type { ClaimCandidate, ClaimedJob, Lti11Target, Lti13Target, PassbackStatus, ScoreUpdate } from '../../grades/outbox-types.js'
import { knexDialect } from '../connection.js'
import { bool, stringList } from '../repositories/column-values.js'
import { nullableNumber, type PassbackRow } from './rows.js'
import { currentVersion, hasNewerJob } from './versions.js'

export interface ClaimOptions {
  now: number
  owner: string
  leaseMs: number
  /** Rows looked at (and, on MySQL, briefly locked) per claim. */
  scanLimit: number
  /** Hosts whose jobs are not claimed now (concurrency limit reached, Retry-After cooling down). */
  excludeHosts?: readonly string[] | undefined
  /** Picks, from due candidates in due order, the ids to claim (per-host slots, one job per target). */
  choose: (candidates: readonly ClaimCandidate[]) => number[]
}

const CLAIMABLE_WAITING = ['pending', 'failed'] as const satisfies readonly PassbackStatus[]
/** Waiting and due, or delivering with an expired lease (a worker died). */
const CLAIMABLE = [...CLAIMABLE_WAITING, 'delivering'] as const satisfies readonly PassbackStatus[]

type CandidateRow = Pick<PassbackRow, 'id' | 'target_key' | 'platform_host' | 'version' | 'due_at'>

export function createOutboxClaims (knex: Knex) {
  const mysql = knexDialect(knex) === 'mysql'

  /**
   * One claimable state: `status` waiting and due, or `delivering` with its lease expired. Read in
   * (due_at, id) order through an index that has that order after the status (see migration
   * 20261123121500), so the read stops at the LIMIT: no sort of every due row. Targets another
   * worker is delivering right now are skipped (per-target order).
   */
  function claimableIn (trx: Knex.Transaction, status: PassbackStatus, opts: ClaimOptions): Knex.QueryBuilder {
    const query = trx('passbacks as p')
      .select('p.id', 'p.target_key', 'p.platform_host', 'p.version', 'p.due_at')
      .where('p.status', status)
    if (status === 'delivering') query.andWhere('p.lease_until', '<', opts.now)
    else query.andWhere('p.due_at', '<=', opts.now)
    query
      .whereNotExists(function () {
        this.select(knex.raw('1')).from('passbacks as busy')
          .whereRaw('?? = ??', ['busy.target_key', 'p.target_key'])
          .andWhere('busy.status', 'delivering')
          .andWhereRaw('?? <> ??', ['busy.id', 'p.id'])
          .andWhere('busy.lease_until', '>=', opts.now)
      })
      .orderBy([{ column: 'p.due_at', order: 'asc' }, { column: 'p.id', order: 'asc' }])
      .limit(opts.scanLimit)
    if (opts.excludeHosts !== undefined && opts.excludeHosts.length > 0) query.whereNotIn('p.platform_host', opts.excludeHosts)
    // The rows read are locked; rows another transaction holds are skipped, not waited for.
    if (mysql) query.forUpdate().skipLocked()
    return query
  }

  /**
   * Due jobs in due order: the first `scanLimit` of the claimable states merged. One read per state
   * rather than one with an OR: an OR (or an IN) of states cannot walk one index in due order, so
   * the database sorted every due row on every claim (≈ 7 ms with 2,000 due jobs on SQLite).
   */
  async function dueCandidates (trx: Knex.Transaction, opts: ClaimOptions): Promise<CandidateRow[]> {
    const rows: CandidateRow[] = []
    for (const status of CLAIMABLE) rows.push(...await claimableIn(trx, status, opts) as CandidateRow[])
    return rows
      .sort((a, b) => Number(a.due_at) - Number(b.due_at) || Number(a.id) - Number(b.id))
      .slice(0, opts.scanLimit)
  }

  async function finish (id: number, owner: string, changes: Record<string, unknown>): Promise<boolean> {
    const changed = await knex('passbacks')
      .where({ id, status: 'delivering', lease_owner: owner })
      .update({ ...changes, lease_owner: null, lease_until: null })
    return changed === 1
  }

  function scoreColumns (score: ScoreUpdate | undefined): Record<string, number> {
    return score === undefined ? {} : { score_given: score.scoreGiven, score_maximum: score.scoreMaximum }
  }

  return {
    async claimDue (opts: ClaimOptions): Promise<ClaimedJob[]> {
      // READ COMMITTED on MySQL/MariaDB: no gap locks on the scanned ranges, which would make two
      // claims deadlock (each one's UPDATE moves rows into a range the other's read has locked).
      return knex.transaction(async trx => {
        const rows = await dueCandidates(trx, opts)
        const ids = opts.choose(rows.map(r => ({ id: Number(r.id), targetKey: r.target_key, platformHost: r.platform_host, version: Number(r.version) })))
        if (ids.length === 0) return []
        const leaseUntil = opts.now + opts.leaseMs
        await trx('passbacks').whereIn('id', ids).update({
          status: 'delivering',
          lease_owner: opts.owner,
          lease_until: leaseUntil,
          attempts: knex.raw('?? + 1', ['attempts']),
          updated_at: opts.now
        })
        const claimed = await trx('passbacks').select('*').whereIn('id', ids).orderBy([{ column: 'due_at', order: 'asc' }, { column: 'id', order: 'asc' }]) as PassbackRow[]
        return claimed.map(toClaimed)
      }, mysql ? { isolationLevel: 'read committed' } : undefined)
    },

    async markDelivered (id: number, owner: string, now: number, score?: ScoreUpdate): Promise<boolean> {
      return finish(id, owner, { status: 'delivered', delivered_at: now, last_error: null, updated_at: now, ...scoreColumns(score) })
    },

    /** A transient failure with attempts left: `failed`, due again at `dueAt`. */
    async retryLater (id: number, owner: string, now: number, dueAt: number, error: string, score?: ScoreUpdate): Promise<boolean> {
      return finish(id, owner, { status: 'failed', due_at: dueAt, last_error: error, updated_at: now, ...scoreColumns(score) })
    },

    async markDead (id: number, owner: string, now: number, error: string, score?: ScoreUpdate): Promise<boolean> {
      return finish(id, owner, { status: 'dead', last_error: error, updated_at: now, ...scoreColumns(score) })
    },

    async markSuperseded (id: number, owner: string, now: number, reason: string): Promise<boolean> {
      return finish(id, owner, { status: 'superseded', last_error: reason, updated_at: now })
    },

    /**
     * Gives a claimed job back untouched (shutdown cancelled its send): pending, due now, and the
     * attempt is not counted, so another instance picks it up at once.
     */
    async release (id: number, owner: string, now: number): Promise<boolean> {
      return finish(id, owner, { status: 'pending', due_at: now, attempts: knex.raw('CASE WHEN ?? > 0 THEN ?? - 1 ELSE 0 END', ['attempts', 'attempts']), updated_at: now })
    },

    /** True when a job with a higher version exists for the target: this one's score is stale. */
    async hasNewerJob (targetKey: string, version: number): Promise<boolean> {
      return hasNewerJob(knex, { targetKey, version })
    },

    async loadLti11Target (assignmentId: number): Promise<Lti11Target | undefined> {
      const row = await knex('graded_assignments as ga')
        .join('lti_users as lu', 'lu.id', 'ga.lti_user_id')
        .join('outcome_services as os', 'os.id', 'ga.outcome_service_id')
        .join('lti11_consumers as c', 'c.id', 'os.consumer_id')
        .where('ga.id', assignmentId)
        .first('ga.id', 'ga.version_number', 'ga.lis_result_sourcedid', 'os.url', 'ga.lms_user_id', 'lu.lms_username', 'ga.course_key', 'ga.usage_key',
          'c.id as consumer_id', 'c.consumer_key', 'c.secret_enc', 'c.outcome_hosts', 'c.active') as Lti11TargetRow | undefined
      if (row === undefined) return undefined
      return {
        assignmentId: Number(row.id),
        versionNumber: Number(row.version_number),
        sourcedId: row.lis_result_sourcedid,
        outcomeUrl: row.url,
        lmsUserId: Number(row.lms_user_id),
        lmsUsername: row.lms_username,
        courseKey: row.course_key,
        usageKey: row.usage_key,
        consumer: { id: Number(row.consumer_id), consumerKey: row.consumer_key, secretEnc: row.secret_enc, outcomeHosts: stringList(row.outcome_hosts, 'lti11_consumers', 'outcome_hosts'), active: bool(row.active) }
      }
    },

    async loadLti13Target (resourceId: number): Promise<Lti13Target | undefined> {
      const row = await knex('graded_resources as gr')
        .join('lti_profiles as lp', 'lp.id', 'gr.profile_id')
        .join('lti13_registrations as r', 'r.id', 'lp.registration_id')
        .where('gr.id', resourceId)
        .first('gr.id', 'gr.version_number', 'gr.lineitem_url', 'gr.scopes', 'lp.sub', 'gr.lms_user_id', 'lp.lms_username', 'gr.course_key', 'gr.usage_key',
          'r.id as registration_id', 'r.client_id', 'r.issuer', 'r.auth_token_url', 'r.auth_token_audience', 'r.allowed_hosts', 'r.active') as Lti13TargetRow | undefined
      if (row === undefined) return undefined
      return {
        resourceId: Number(row.id),
        versionNumber: Number(row.version_number),
        lineitemUrl: row.lineitem_url,
        scopes: stringList(row.scopes, 'graded_resources', 'scopes'),
        sub: row.sub,
        lmsUserId: Number(row.lms_user_id),
        lmsUsername: row.lms_username,
        courseKey: row.course_key,
        usageKey: row.usage_key,
        registration: {
          id: Number(row.registration_id),
          clientId: row.client_id,
          issuer: row.issuer,
          authTokenUrl: row.auth_token_url,
          authTokenAudience: row.auth_token_audience,
          allowedHosts: stringList(row.allowed_hosts, 'lti13_registrations', 'allowed_hosts'),
          active: bool(row.active)
        }
      }
    },

    /** Current version of the job's graded assignment/resource, undefined when it is gone (edx's re-read). */
    async currentVersion (targetKey: string): Promise<number | undefined> {
      return currentVersion(knex, targetKey)
    },

    /** Jobs per status, for the queue-depth gauge. */
    async countByStatus (): Promise<Map<string, number>> {
      const rows = await knex('passbacks').select('status').count({ n: '*' }).groupBy('status') as Array<{ status: string, n: number | string }>
      return new Map(rows.map(r => [r.status, Number(r.n)]))
    },

    /** due_at of the oldest job waiting to be sent (pending/failed and due), or undefined. */
    async oldestDueAt (now: number): Promise<number | undefined> {
      const row = await knex('passbacks').whereIn('status', CLAIMABLE_WAITING).andWhere('due_at', '<=', now).min({ at: 'due_at' }).first() as { at: number | string | null } | undefined
      return row?.at === null || row?.at === undefined ? undefined : Number(row.at)
    }
  }
}

export type OutboxClaims = ReturnType<typeof createOutboxClaims>

interface Lti11TargetRow {
  id: number
  version_number: number
  lis_result_sourcedid: string
  url: string
  lms_user_id: number | string
  lms_username: string
  course_key: string
  usage_key: string
  consumer_id: number
  consumer_key: string
  secret_enc: string
  outcome_hosts: string
  active: number | boolean
}

interface Lti13TargetRow {
  id: number
  version_number: number
  lineitem_url: string
  scopes: string
  sub: string
  lms_user_id: number | string
  lms_username: string
  course_key: string
  usage_key: string
  registration_id: number
  client_id: string
  issuer: string
  auth_token_url: string
  auth_token_audience: string | null
  allowed_hosts: string
  active: number | boolean
}

function toClaimed (row: PassbackRow): ClaimedJob {
  return {
    id: Number(row.id),
    kind: row.kind === 'lti13' ? 'lti13' : 'lti11',
    gradedAssignmentId: nullableNumber(row.graded_assignment_id),
    gradedResourceId: nullableNumber(row.graded_resource_id),
    targetKey: row.target_key,
    version: Number(row.version),
    method: row.method,
    scoreGiven: nullableNumber(row.score_given),
    scoreMaximum: nullableNumber(row.score_maximum),
    eventTimeUs: Number(row.event_time_us),
    platformHost: row.platform_host,
    attempts: Number(row.attempts),
    dueAt: Number(row.due_at),
    leaseUntil: Number(row.lease_until)
  }
}
