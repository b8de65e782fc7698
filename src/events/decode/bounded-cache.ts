/**
 * Least-recently-used map with a fixed capacity. Schema ids come from message bytes, which an
 * attacker or a broken producer controls: an unbounded cache keyed by them would grow forever.
 */
export class BoundedCache<K, V> {
  readonly #max: number
  readonly #map = new Map<K, V>()

  constructor (maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer')
    this.#max = maxEntries
  }

  get size (): number {
    return this.#map.size
  }

  get (key: K): V | undefined {
    if (!this.#map.has(key)) return undefined
    const value = this.#map.get(key) as V
    // Map keeps insertion order: re-inserting marks the entry as most recently used.
    this.#map.delete(key)
    this.#map.set(key, value)
    return value
  }

  set (key: K, value: V): void {
    this.#map.delete(key)
    this.#map.set(key, value)
    if (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next().value as K
      this.#map.delete(oldest)
    }
  }

  delete (key: K): void {
    this.#map.delete(key)
  }
}
