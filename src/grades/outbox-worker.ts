import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { OutboxClaims } from '../db/outbox/claims.js'
import type { ClaimCandidate, ClaimedJob } from './outbox-types.js'
import type { DeliveryOutcome, JobDelivery } from './delivery/job-delivery.js'
import { backoffDelay, classifyFailure, DEFAULT_BACKOFF, type BackoffPolicy } from './delivery/retry-policy.js'

/** How one attempt ended, as metrics count it. `released`: shutdown cancelled it and gave the job back. */
export type DeliveryResult = 'delivered' | 'failed' | 'dead' | 'superseded' | 'released'

export interface DeliveryMetrics {
  observe (result: DeliveryResult, job: Pick<ClaimedJob, 'kind' | 'platformHost'>, seconds: number): void
}

/** The part of a pino logger the worker uses. It logs job facts (id, target key, host, error code), never secrets or tokens. */
export interface WorkerLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export interface OutboxWorkerOptions {
  outbox: Pick<OutboxClaims, 'claimDue' | 'markDelivered' | 'retryLater' | 'markDead' | 'markSuperseded' | 'release'>
  delivery: JobDelivery
  /** PASSBACK_MAX_ATTEMPTS: a transient failure on the last attempt makes the job dead. */
  maxAttempts: number
  /** PASSBACK_CONCURRENCY_PER_HOST: parallel deliveries to one platform host from this process. */
  perHostConcurrency: number
  /** PASSBACK_POLL_INTERVAL_MS. */
  pollIntervalMs: number
  /** PASSBACK_LEASE_SECONDS in ms: a claimed job whose worker died is claimable again after this. */
  leaseMs: number
  /** Deliveries in flight in this process, all hosts together. Default 32. */
  maxInFlight?: number
  backoff?: BackoffPolicy
  /** Lease owner written on claimed rows (≤ 64 chars); default host:pid:random. */
  owner?: string
  now?: () => number
  random?: () => number
  metrics?: DeliveryMetrics
  log?: WorkerLog
}

export interface OutboxWorker {
  readonly owner: string
  /** Deliveries running now. */
  readonly inFlight: number
  /** Starts polling every PASSBACK_POLL_INTERVAL_MS (and claims at once). */
  start (): void
  /** Looks for due jobs now (the event consumer calls it after queueing leaf jobs). No-op unless started. */
  kick (): void
  /**
   * Stops claiming, waits up to `graceMs` (default 10 s) for in-flight deliveries, then cancels the
   * rest and gives their jobs back (`pending`, attempt not counted). Bounded even if a send hangs.
   */
  stop (options?: { graceMs?: number }): Promise<void>
  /** One claim round, waiting for the jobs it claimed; returns how many it claimed. Tests and tools. */
  runOnce (): Promise<number>
  /** Resolves when no claim and no delivery is running. */
  idle (): Promise<void>
}

/** A send never outlives its lease: it is cancelled this long before the lease ends. */
const LEASE_SAFETY_MS = 5_000
/** After cancelling, how long stop() still waits for deliveries to notice. */
const CANCEL_WAIT_MS = 5_000

export function defaultWorkerOwner (): string {
  return `${hostname().slice(0, 40)}:${process.pid}:${randomBytes(4).toString('hex')}`
}

/**
 * The outbox worker: claims due jobs in rounds (per-host slots, one job per target at a time, up
 * to one job ahead per slot so that claims come once per several deliveries), delivers each, and
 * records the result: delivered, superseded, failed with an exponential, jittered backoff
 * (Retry-After honoured, the host paused meanwhile), or dead (permanent refusal, or attempts
 * exhausted) with the last error kept. Durable: everything it knows is in the job rows,
 * so a restart, or another instance after the lease, carries on where it stopped.
 */
export function createOutboxWorker (options: OutboxWorkerOptions): OutboxWorker {
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const backoff = options.backoff ?? DEFAULT_BACKOFF
  const maxInFlight = options.maxInFlight ?? 32
  const owner = (options.owner ?? defaultWorkerOwner()).slice(0, 64)
  const log = options.log

  const perHost = new Map<string, number>()
  /**
   * Claimed jobs waiting for a slot of their host, in due order. A claim takes up to twice the
   * per-host concurrency, so a finished delivery starts the next job at once and one claim feeds
   * several deliveries instead of each finish running the claim query again.
   */
  const queued = new Map<string, ClaimedJob[]>()
  let queuedCount = 0
  const pausedUntil = new Map<string, number>()
  const running = new Set<Promise<void>>()
  /** Claimed-ahead jobs being given back (stop, host paused, lease too short). */
  const releasing = new Set<Promise<void>>()
  const shutdown = new AbortController()
  let started = false
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let tick: Promise<void> | undefined
  let again = false
  /** The last round left due work behind for lack of slots: a finished delivery should claim again at once. */
  let moreWaiting = false

  function hostBusy (host: string): number {
    return perHost.get(host) ?? 0
  }

  /** Jobs of `host` this process holds: delivering plus claimed and waiting. */
  function hostHeld (host: string): number {
    return hostBusy(host) + (queued.get(host)?.length ?? 0)
  }

  /** In flight plus one claimed-ahead job per slot. */
  const hostCapacity = options.perHostConcurrency * 2

  function excludedHosts (at: number): { hosts: string[], saturated: boolean } {
    const out: string[] = []
    const held = new Set([...perHost.keys(), ...queued.keys()])
    for (const host of held) if (hostHeld(host) >= hostCapacity) out.push(host)
    const saturated = out.length > 0
    for (const [host, until] of pausedUntil) {
      if (until > at) out.push(host)
      else pausedUntil.delete(host)
    }
    return { hosts: out, saturated }
  }

  /** From due candidates: per-host free slots, one job per target, at most `free` in all. */
  function chooser (free: number, left: { behind: boolean }) {
    return (candidates: readonly ClaimCandidate[]): number[] => {
      const picked: number[] = []
      const hostSlots = new Map<string, number>()
      const targets = new Set<string>()
      for (const c of candidates) {
        if (picked.length >= free) {
          left.behind = true
          break
        }
        if (targets.has(c.targetKey)) continue
        const used = hostSlots.get(c.platformHost) ?? hostHeld(c.platformHost)
        if (used >= hostCapacity) {
          left.behind = true
          continue
        }
        hostSlots.set(c.platformHost, used + 1)
        targets.add(c.targetKey)
        picked.push(c.id)
      }
      return picked
    }
  }

  async function claimRound (): Promise<ClaimedJob[]> {
    if (stopped) return []
    const free = maxInFlight * 2 - running.size - queuedCount
    if (free <= 0) {
      moreWaiting = true
      return []
    }
    const at = now()
    const excluded = excludedHosts(at)
    const left = { behind: excluded.saturated }
    let jobs: ClaimedJob[]
    try {
      jobs = await options.outbox.claimDue({
        now: at,
        owner,
        leaseMs: options.leaseMs,
        scanLimit: Math.min(500, free * 5 + 20),
        excludeHosts: excluded.hosts,
        choose: chooser(free, left)
      })
    } catch (err) {
      log?.error({ err }, 'passback claim failed; the next poll tries again')
      return []
    }
    moreWaiting = left.behind
    for (const job of jobs) {
      const waiting = queued.get(job.platformHost)
      if (waiting === undefined) queued.set(job.platformHost, [job])
      else waiting.push(job)
      queuedCount++
    }
    pump()
    return jobs
  }

  /** Starts waiting jobs on free slots (per host, and in all); gives back those that must not start. */
  function pump (): void {
    for (const [host, waiting] of queued) {
      while (waiting.length > 0 && hostBusy(host) < options.perHostConcurrency && running.size < maxInFlight) {
        const job = waiting.shift() as ClaimedJob
        queuedCount--
        const at = now()
        // Stopping, a Retry-After pause of its host, or a lease too short to send within: give it back.
        if (stopped || (pausedUntil.get(host) ?? 0) > at || job.leaseUntil - at < Math.min(LEASE_SAFETY_MS, options.leaseMs / 4) + 1_000) giveBack(job)
        else launch(job)
      }
      if (waiting.length === 0) queued.delete(host)
    }
  }

  /** A claimed job that was never started: pending again, attempt not counted. */
  function giveBack (job: ClaimedJob): void {
    const p: Promise<void> = options.outbox.release(job.id, owner, now())
      .then(written => { fenced(job, written) }, (err: unknown) => { log?.error({ err, jobId: job.id }, 'passback could not be given back; its lease will expire') })
      .finally(() => { releasing.delete(p) })
    releasing.add(p)
  }

  function giveBackAll (): void {
    for (const waiting of queued.values()) for (const job of waiting) giveBack(job)
    queued.clear()
    queuedCount = 0
  }

  function launch (job: ClaimedJob): void {
    perHost.set(job.platformHost, hostBusy(job.platformHost) + 1)
    const p: Promise<void> = processJob(job).finally(() => {
      const left = hostBusy(job.platformHost) - 1
      if (left > 0) perHost.set(job.platformHost, left)
      else perHost.delete(job.platformHost)
      running.delete(p)
      // A slot is free: the next claimed job takes it; claim again once none is left for this
      // host, and only if work was left behind (else the next poll, or a kick, does).
      pump()
      if (moreWaiting && !queued.has(job.platformHost)) kick()
    })
    running.add(p)
  }

  async function processJob (job: ClaimedJob): Promise<void> {
    const startedAt = now()
    const leaseLeft = Math.max(1_000, job.leaseUntil - startedAt - Math.min(LEASE_SAFETY_MS, options.leaseMs / 4))
    const signal = AbortSignal.any([shutdown.signal, AbortSignal.timeout(leaseLeft)])
    let result: DeliveryResult
    try {
      let outcome: DeliveryOutcome | undefined
      let failure: unknown
      try {
        outcome = await options.delivery.deliver(job, signal)
      } catch (err) {
        failure = err
      }
      result = outcome !== undefined ? await complete(job, outcome) : await fail(job, failure)
    } catch (err) {
      // Writing the result failed (database down): the lease expires and the job is tried again.
      log?.error({ err, jobId: job.id }, 'passback result could not be recorded')
      return
    }
    options.metrics?.observe(result, job, (now() - startedAt) / 1000)
  }

  async function complete (job: ClaimedJob, outcome: DeliveryOutcome): Promise<DeliveryResult> {
    const at = now()
    if (outcome.result === 'superseded') {
      fenced(job, await options.outbox.markSuperseded(job.id, owner, at, outcome.reason))
      return 'superseded'
    }
    fenced(job, await options.outbox.markDelivered(job.id, owner, at, outcome.score))
    log?.info({ jobId: job.id, targetKey: job.targetKey, host: job.platformHost, attempts: job.attempts, duplicate: outcome.duplicate === true }, 'passback delivered')
    return 'delivered'
  }

  async function fail (job: ClaimedJob, err: unknown): Promise<DeliveryResult> {
    const at = now()
    if (shutdown.signal.aborted) {
      fenced(job, await options.outbox.release(job.id, owner, at))
      return 'released'
    }
    const verdict = classifyFailure(err)
    const facts = { jobId: job.id, targetKey: job.targetKey, host: job.platformHost, attempts: job.attempts, error: verdict.error }
    if (verdict.kind === 'permanent' || job.attempts >= options.maxAttempts) {
      const error = verdict.kind === 'permanent' ? verdict.error : `${verdict.error} (gave up after ${job.attempts} attempts)`
      fenced(job, await options.outbox.markDead(job.id, owner, at, error))
      log?.warn(facts, 'passback dead')
      return 'dead'
    }
    const delay = backoffDelay(job.attempts, backoff, random, verdict.retryAfterMs)
    if (verdict.retryAfterMs !== undefined) {
      // The host asked everyone to wait: its other jobs are not claimed until then either.
      pausedUntil.set(job.platformHost, Math.max(pausedUntil.get(job.platformHost) ?? 0, at + Math.min(verdict.retryAfterMs, backoff.retryAfterCapMs)))
    }
    fenced(job, await options.outbox.retryLater(job.id, owner, at, at + delay, verdict.error))
    log?.info({ ...facts, retryInMs: delay }, 'passback failed; will retry')
    return 'failed'
  }

  function fenced (job: ClaimedJob, written: boolean): void {
    if (!written) log?.warn({ jobId: job.id, owner }, 'passback lease was lost before the result was written; the new owner decides')
  }

  function kick (): void {
    if (!started || stopped) return
    if (tick !== undefined) {
      again = true
      return
    }
    tick = claimRound().then(() => undefined).finally(() => {
      tick = undefined
      if (again) {
        again = false
        kick()
      }
    })
  }

  async function idle (): Promise<void> {
    while (tick !== undefined || running.size > 0 || releasing.size > 0) {
      await Promise.allSettled([tick, ...running, ...releasing])
    }
  }

  function sleep (ms: number): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, ms).unref())
  }

  return {
    owner,
    get inFlight () { return running.size },
    start () {
      if (started || stopped) return
      started = true
      timer = setInterval(kick, options.pollIntervalMs)
      timer.unref()
      kick()
    },
    kick,
    async stop (stopOptions = {}) {
      if (stopped) return
      stopped = true
      if (timer !== undefined) clearInterval(timer)
      if (tick !== undefined) await tick.catch(() => undefined)
      giveBackAll()
      const graceMs = stopOptions.graceMs ?? 10_000
      const all = () => Promise.allSettled([...running]).then(() => true)
      if (running.size > 0 && !(await Promise.race([all(), sleep(graceMs).then(() => false)]))) {
        shutdown.abort()
        await Promise.race([all(), sleep(CANCEL_WAIT_MS)])
      }
      await Promise.allSettled([...releasing])
    },
    async runOnce () {
      const jobs = await claimRound()
      await idle()
      return jobs.length
    },
    idle
  }
}
