/**
 * A set of LMS user ids (positive safe integers) in one Float64Array: open addressing with linear
 * probing, 0 as the empty slot, load kept ≤ 1/2. About 16 bytes per id (a `Set<number>` costs
 * several times that), and `has` neither allocates nor calls anything: it runs for every event on
 * the topic, most of them for learners who never came through LTI.
 *
 * In front of the table, a filter of two bits per id in one 32-bit word (a blocked Bloom filter,
 * 1/16 of the table's size): with 10⁶ learners the table is 16 MiB and every lookup of an id that
 * is not ours was a cache and TLB miss, so the cost per irrelevant event grew with the number of
 * learners; the filter (1 MiB) answers "not ours" for all but a few percent of them on its own.
 */
export class UserIdSet {
  #slots: Float64Array
  #mask: number
  #filter: Int32Array
  #filterMask: number
  #size = 0

  constructor (expected = 1024) {
    const capacity = UserIdSet.#capacityFor(expected)
    this.#slots = new Float64Array(capacity)
    this.#mask = capacity - 1
    this.#filter = new Int32Array(capacity / 8)
    this.#filterMask = capacity / 8 - 1
  }

  /** The filter's word index and two-bit mask for a hash (bits independent of the slot index). */
  static #filterWord (hash: number, wordMask: number): number {
    const g = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0
    return (g >>> 10) & wordMask
  }

  static #filterBits (hash: number): number {
    const g = Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) >>> 0
    return (1 << (g & 31)) | (1 << ((g >>> 5) & 31))
  }

  static #capacityFor (count: number): number {
    let capacity = 16
    while (capacity < count * 2) capacity *= 2
    return capacity
  }

  /** Mixes both 32-bit halves (ids may exceed 2^32) with murmur3's finaliser. */
  static #hash (id: number): number {
    const high = (id / 4294967296) >>> 0
    let h = (id >>> 0) ^ Math.imul(high, 0x9e3779b1)
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
    return (h ^ (h >>> 16)) >>> 0
  }

  static isUserId (id: number): boolean {
    return Number.isSafeInteger(id) && id > 0
  }

  get size (): number {
    return this.#size
  }

  /** Bytes held by the table and its filter, for the metrics. */
  get bytes (): number {
    return this.#slots.byteLength + this.#filter.byteLength
  }

  has (id: number): boolean {
    if (!(id > 0) || !Number.isSafeInteger(id)) return false
    const hash = UserIdSet.#hash(id)
    const bits = UserIdSet.#filterBits(hash)
    if ((this.#filter[UserIdSet.#filterWord(hash, this.#filterMask)]! & bits) !== bits) return false
    const slots = this.#slots
    const mask = this.#mask
    let i = hash & mask
    for (;;) {
      const slot = slots[i] as number
      if (slot === id) return true
      if (slot === 0) return false
      i = (i + 1) & mask
    }
  }

  /** Adds a valid id; returns true when it was new. Invalid ids are refused (false), never stored. */
  add (id: number): boolean {
    if (!UserIdSet.isUserId(id)) return false
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow()
    const slots = this.#slots
    const mask = this.#mask
    const hash = UserIdSet.#hash(id)
    let i = hash & mask
    for (;;) {
      const slot = slots[i] as number
      if (slot === id) return false
      if (slot === 0) {
        slots[i] = id
        this.#filter[UserIdSet.#filterWord(hash, this.#filterMask)]! |= UserIdSet.#filterBits(hash)
        this.#size++
        return true
      }
      i = (i + 1) & mask
    }
  }

  #grow (): void {
    const old = this.#slots
    this.#slots = new Float64Array(old.length * 2)
    this.#mask = this.#slots.length - 1
    this.#filter = new Int32Array(this.#slots.length / 8)
    this.#filterMask = this.#filter.length - 1
    this.#size = 0
    for (const id of old) if (id !== 0) this.add(id)
  }
}
