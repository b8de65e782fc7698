/**
 * Exponential backoff per key (a topic-partition, or the consumer itself for restarts): 1 s, 2 s,
 * 4 s … up to the cap, ±20 % jitter so several instances do not retry in step. Reset on success.
 */
export interface BackoffOptions {
  initialMs?: number
  maxMs?: number
  random?: () => number
}

export class Backoff {
  readonly #attempts = new Map<string, number>()
  readonly #initialMs: number
  readonly #maxMs: number
  readonly #random: () => number

  constructor (options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 1000
    this.#maxMs = options.maxMs ?? 60_000
    this.#random = options.random ?? Math.random
  }

  /** The delay before the next attempt for `key`, and counts the attempt. */
  next (key: string): number {
    const attempt = this.#attempts.get(key) ?? 0
    this.#attempts.set(key, attempt + 1)
    const base = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(attempt, 30))
    return Math.round(base * (0.8 + 0.4 * this.#random()))
  }

  attempts (key: string): number {
    return this.#attempts.get(key) ?? 0
  }

  reset (key: string): void {
    this.#attempts.delete(key)
  }
}
