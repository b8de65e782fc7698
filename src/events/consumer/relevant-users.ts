import { UserIdSet } from './user-id-set.js'

/** The identity tables that make an LMS user "ours": LTI 1.1 `lti_users`, LTI 1.3 `lti_profiles`. */
export const IDENTITY_TABLES = ['lti_users', 'lti_profiles'] as const
export type IdentityTable = typeof IDENTITY_TABLES[number]

export interface IdentityRow {
  id: number
  lmsUserId: number
}

export interface RelevantUserSource {
  /** Up to `limit` rows with `id > afterId`, ordered by id. */
  page: (table: IdentityTable, afterId: number, limit: number) => Promise<IdentityRow[]>
}

export interface RelevantUsersLogger {
  warn: (obj: object, msg: string) => void
}

export interface RelevantUsersOptions {
  source: RelevantUserSource
  /** Rows per query; default 5000. */
  pageSize?: number
  /** How often new identity rows (other instances' launches) are picked up; default 3000 ms. */
  refreshIntervalMs?: number
  /** How often every row is read again; default 10 min. Catches rows that committed out of id order. */
  fullReloadIntervalMs?: number
  /**
   * Ids re-read behind the highest one seen, on every refresh: on MySQL an auto-increment id can
   * become visible after a larger one (concurrent transactions commit in any order). Default 200.
   */
  lateCommitWindow?: number
  logger?: RelevantUsersLogger
  now?: () => number
}

/**
 * Which LMS users came through LTI, in memory, so the consumer can drop the events of everyone else
 * (most learners) without a query. Loaded at start in pages, then kept in step three ways: `add()`
 * from the launch code of this instance right after it creates a mapping; a cheap periodic read of
 * rows with larger ids (other instances' launches, within `refreshIntervalMs`); and a periodic full
 * read. Ids are never removed: a deleted mapping only costs a query for its events until restart.
 */
export class RelevantUsers {
  readonly #ids = new UserIdSet()
  readonly #source: RelevantUserSource
  readonly #pageSize: number
  readonly #refreshIntervalMs: number
  readonly #fullReloadIntervalMs: number
  readonly #lateCommitWindow: number
  readonly #logger: RelevantUsersLogger | undefined
  readonly #now: () => number
  readonly #lastSeen: Record<IdentityTable, number> = { lti_users: 0, lti_profiles: 0 }
  #loaded = false
  #lastFullLoad = 0
  #running: Promise<number> | undefined
  #timer: NodeJS.Timeout | undefined

  constructor (options: RelevantUsersOptions) {
    this.#source = options.source
    this.#pageSize = options.pageSize ?? 5000
    this.#refreshIntervalMs = options.refreshIntervalMs ?? 3000
    this.#fullReloadIntervalMs = options.fullReloadIntervalMs ?? 600_000
    this.#lateCommitWindow = options.lateCommitWindow ?? 200
    this.#logger = options.logger
    this.#now = options.now ?? Date.now
  }

  /** O(1), no allocation, no I/O. */
  has (lmsUserId: number): boolean {
    return this.#ids.has(lmsUserId)
  }

  /** For the launch code, right after it stored an lti_users / lti_profiles row. */
  add (lmsUserId: number): void {
    this.#ids.add(lmsUserId)
  }

  get size (): number {
    return this.#ids.size
  }

  get bytes (): number {
    return this.#ids.bytes
  }

  /** True once the first full load finished: before that, `has` may miss users. */
  get loaded (): boolean {
    return this.#loaded
  }

  async #scan (table: IdentityTable, from: number): Promise<number> {
    let after = from
    let added = 0
    for (;;) {
      const rows = await this.#source.page(table, after, this.#pageSize)
      for (const row of rows) {
        if (this.#ids.add(row.lmsUserId)) added++
        if (row.id > after) after = row.id
      }
      if (rows.length < this.#pageSize) break
    }
    if (after > this.#lastSeen[table]) this.#lastSeen[table] = after
    return added
  }

  async #pass (full: boolean): Promise<number> {
    let added = 0
    for (const table of IDENTITY_TABLES) {
      const from = full ? 0 : Math.max(0, this.#lastSeen[table] - this.#lateCommitWindow)
      added += await this.#scan(table, from)
    }
    if (full) {
      this.#lastFullLoad = this.#now()
      this.#loaded = true
    }
    return added
  }

  /** One pass at a time; returns how many ids were new. A full pass waits for a running one, a refresh joins it. */
  async #run (full: boolean): Promise<number> {
    while (this.#running) {
      const running = this.#running
      if (!full) return running
      await running.catch(() => {})
    }
    const run = this.#pass(full).finally(() => { this.#running = undefined })
    this.#running = run
    return run
  }

  /** The full read; awaited before the consumer starts. */
  load (): Promise<number> {
    return this.#run(true)
  }

  /** New rows since the last pass (a full pass when one is due). */
  refresh (): Promise<number> {
    const full = !this.#loaded || this.#now() - this.#lastFullLoad >= this.#fullReloadIntervalMs
    return this.#run(full)
  }

  /** Starts the periodic refresh (unref'd: it never keeps the process alive). */
  start (): void {
    if (this.#timer) return
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => {
        this.#logger?.warn({ err }, 'relevant users: refresh failed, will try again')
      })
    }, this.#refreshIntervalMs)
    this.#timer.unref()
  }

  /** Stops the timer and waits for a pass in progress (it may be using the database). */
  async stop (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#running?.catch(() => {})
  }
}
