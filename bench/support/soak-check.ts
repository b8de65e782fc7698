/**
 * The soak's verdict: each platform's gradebook against the ledger of score changes.
 *
 * Words (per grade target = one learner of one platform on one problem):
 * - a PUSH is a score the platform accepted and stored: an LTI 1.1 replaceResult answered
 *   `success` (the outcome service's ledger, in arrival order) or an AGS score answered 201;
 * - each push names the change it came from: the LTI 1.1 ratio earned/POSSIBLE is unique per target,
 *   the AGS timestamp is the change's `modified` (soak-publisher.ts);
 * - the service writes one outbox job per (target, change), with a `version` that the target's
 *   counter gives it when the change is recorded: UNIQUE (target_key, version), one ce_id per job.
 *   So a push maps to exactly one (target, version) and one ce_id.
 *
 * LOST: a target whose gradebook does not end on the ledger's final change for it (the change with
 * the latest `modified`), including one that never got any push.
 * DUPLICATED: a (target, version), equivalently a (target, ce_id), that the platform accepted more
 * than once. A change that was never pushed because a newer change of the same target replaced its
 * job (status `superseded`) is COALESCED, not lost; a push of an older version before the final one
 * is an intermediate grade, not a duplicate. An AGS retry that Open edX refuses with "Score already
 * exists for the provided timestamp" never reaches the gradebook twice: counted apart as
 * `agsSameTimestampResends` (the platform's idempotence, which the issue allows).
 * UNKNOWN: a push that matches no change of the ledger (a wrong score, or one for the wrong learner).
 */
import type { Knex } from 'knex'
import type { GradeTarget } from './soak-launcher.js'
import type { LedgerEntry } from './soak-publisher.js'

export interface Lti11Push { sourcedId: string, score: string }
export interface AgsPush { lineitem: string, userId: string, scoreGiven: number | null, scoreMaximum: number | null, timestampUs: number }
export interface OutboxRow { targetKey: string, version: number, ceId: string | null, status: string, attempts: number }

export interface CheckInput {
  /** Launched targets with their outbox `target_key` (undefined: not found in the database). */
  targets: Array<GradeTarget & { targetKey: string | undefined }>
  ledger: readonly LedgerEntry[]
  lti11Pushes: readonly Lti11Push[]
  agsPushes: readonly AgsPush[]
  agsSameTimestampResends: number
  outbox: readonly OutboxRow[]
  /** ce_ids in `processed_events`. */
  ingested: ReadonlySet<string>
}

export interface CheckResult {
  targets: number
  targetsWithChanges: number
  changes: number
  pushes: { lti11: number, lti13: number }
  lost: number
  duplicated: number
  unknownPushes: number
  /** Ledger changes whose ce_id the service never recorded. */
  notIngested: number
  /** Changes never pushed because a newer one of the same target replaced them. */
  coalesced: number
  /** Pushes of a lower version after a higher one (LTI 1.1 arrival order): the grade went back for a while. */
  regressions: number
  agsSameTimestampResends: number
  outboxByStatus: Record<string, number>
  maxAttempts: number
  /** Why, for the first few problems found. */
  problems: string[]
}

export function checkGradebooks (input: CheckInput): CheckResult {
  const problems: string[] = []
  const note = (text: string): void => { if (problems.length < 20) problems.push(text) }
  const byTarget = new Map<string, LedgerEntry[]>()
  for (const e of input.ledger) {
    const list = byTarget.get(e.target) ?? []
    list.push(e)
    byTarget.set(e.target, list)
  }
  const versionOf = new Map<string, number>()
  for (const row of input.outbox) if (row.ceId !== null) versionOf.set(`${row.targetKey}|${row.ceId}`, row.version)

  const lti11ByTarget = groupBy(input.lti11Pushes, p => p.sourcedId)
  const agsByTarget = groupBy(input.agsPushes, p => `${p.lineitem}|${p.userId}`)
  const result: CheckResult = {
    targets: input.targets.length,
    targetsWithChanges: 0,
    changes: input.ledger.length,
    pushes: { lti11: input.lti11Pushes.length, lti13: input.agsPushes.length },
    lost: 0,
    duplicated: 0,
    unknownPushes: 0,
    notIngested: input.ledger.filter(e => !input.ingested.has(e.ceId)).length,
    coalesced: 0,
    regressions: 0,
    agsSameTimestampResends: input.agsSameTimestampResends,
    outboxByStatus: {},
    maxAttempts: 0,
    problems
  }
  for (const row of input.outbox) {
    result.outboxByStatus[row.status] = (result.outboxByStatus[row.status] ?? 0) + 1
    result.maxAttempts = Math.max(result.maxAttempts, row.attempts)
  }
  if (result.notIngested > 0) note(`${result.notIngested} published changes never recorded by the service`)

  for (const target of input.targets) {
    const changes = (byTarget.get(target.id) ?? []).sort((a, b) => a.modifiedMs - b.modifiedMs)
    // Changes in the gradebook's order of arrival, each mapped back to the ledger.
    const pushed: Array<LedgerEntry | undefined> = target.protocol === 'lti11'
      ? (lti11ByTarget.get(target.sourcedId ?? '') ?? []).map(p => changes.find(c => Math.abs(Number(p.score) - c.earned / c.possible) < 1e-9))
      : (agsByTarget.get(`${target.lineitemId ?? ''}|${target.sub ?? ''}`) ?? []).map(p => changes.find(c =>
          c.modifiedMs * 1000 === p.timestampUs && p.scoreGiven === c.earned && p.scoreMaximum === c.possible))
    const unknown = pushed.filter(p => p === undefined).length
    if (unknown > 0) {
      result.unknownPushes += unknown
      note(`${target.id}: ${unknown} pushes match no change of the ledger`)
    }
    if (changes.length === 0) continue
    result.targetsWithChanges++
    const final = changes[changes.length - 1]!
    const last = pushed[pushed.length - 1]
    if (last?.ceId !== final.ceId) {
      result.lost++
      note(`${target.id}: gradebook ends on ${last === undefined ? 'nothing' : `${last.earned}/${last.possible} (${last.ceId})`}, ledger final ${final.earned}/${final.possible} (${final.ceId})`)
    }
    const seen = new Map<number, number>()
    let previous = -1
    for (const change of pushed) {
      if (change === undefined) continue
      const version = target.targetKey === undefined ? undefined : versionOf.get(`${target.targetKey}|${change.ceId}`)
      if (version === undefined) {
        result.unknownPushes++
        note(`${target.id}: push of ${change.ceId} has no outbox job`)
        continue
      }
      seen.set(version, (seen.get(version) ?? 0) + 1)
      if (version < previous) result.regressions++
      previous = Math.max(previous, version)
    }
    for (const [version, count] of seen) {
      if (count > 1) {
        result.duplicated += count - 1
        note(`${target.id}: version ${version} accepted ${count} times`)
      }
    }
    result.coalesced += changes.length - seen.size
  }
  return result
}

function groupBy<T> (items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    const list = out.get(k) ?? []
    list.push(item)
    out.set(k, list)
  }
  return out
}

/** `target_key` of each launched target: `a:<graded_assignments.id>` (by sourcedid) or `r:<graded_resources.id>` (by sub + problem). */
export async function resolveTargetKeys (knex: Knex, targets: readonly GradeTarget[]): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const assignments = await knex('graded_assignments').select('id', 'lis_result_sourcedid') as Array<{ id: number, lis_result_sourcedid: string }>
  const bySourcedId = new Map(assignments.map(a => [a.lis_result_sourcedid, `a:${Number(a.id)}`]))
  const resources = await knex('graded_resources as g').join('lti_profiles as p', 'p.id', 'g.profile_id')
    .select('g.id', 'g.usage_key', 'p.sub') as Array<{ id: number, usage_key: string, sub: string }>
  const byProfile = new Map(resources.map(r => [`${r.sub}|${r.usage_key}`, `r:${Number(r.id)}`]))
  for (const t of targets) {
    const key = t.protocol === 'lti11' ? bySourcedId.get(t.sourcedId ?? '') : byProfile.get(`${t.sub ?? ''}|${t.block}`)
    if (key !== undefined) out.set(t.id, key)
  }
  return out
}

export async function readOutbox (knex: Knex): Promise<OutboxRow[]> {
  const rows = await knex('passbacks').select('target_key', 'version', 'ce_id', 'status', 'attempts') as Array<{ target_key: string, version: number, ce_id: string | null, status: string, attempts: number }>
  return rows.map(r => ({ targetKey: r.target_key, version: Number(r.version), ceId: r.ce_id, status: r.status, attempts: Number(r.attempts) }))
}

export async function readIngested (knex: Knex): Promise<Set<string>> {
  const rows = await knex('processed_events').select('ce_id') as Array<{ ce_id: string }>
  return new Set(rows.map(r => r.ce_id))
}

/** Jobs still to deliver: pending (due or waiting for a composite), failed (waiting for a retry), delivering. */
export async function outboxBacklog (knex: Knex): Promise<number> {
  const row = await knex('passbacks').whereIn('status', ['pending', 'failed', 'delivering']).count({ n: '*' }).first() as { n: number | string } | undefined
  return Number(row?.n ?? 0)
}

export async function ingestedCount (knex: Knex): Promise<number> {
  const row = await knex('processed_events').count({ n: '*' }).first() as { n: number | string } | undefined
  return Number(row?.n ?? 0)
}

/**
 * AGS score requests Open edX refused because a score with the same timestamp was already stored
 * for that line item and user: a retry of a push whose answer was lost (counted, not a duplicate).
 */
export function countAgsSameTimestampResends (
  requests: ReadonlyArray<{ path: string, status: number, body: string }>,
  accepted: readonly AgsPush[],
  isoToMicros: (text: string) => number | undefined
): number {
  const stored = new Set(accepted.map(a => `${a.lineitem}|${a.userId}|${a.timestampUs}`))
  let count = 0
  for (const r of requests) {
    if (r.status !== 400) continue
    const lineitem = /\/lti-ags\/([^/]+)\/scores/.exec(r.path)?.[1]
    try {
      const body = JSON.parse(r.body) as { userId?: string, timestamp?: string }
      const us = typeof body.timestamp === 'string' ? isoToMicros(body.timestamp) : undefined
      if (lineitem !== undefined && us !== undefined && stored.has(`${lineitem}|${body.userId ?? ''}|${us}`)) count++
    } catch {
      // Not JSON: not a resend of ours.
    }
  }
  return count
}
