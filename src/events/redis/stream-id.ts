/**
 * Redis stream entry ids, `<ms>-<seq>` (both unsigned 64-bit): compared as numbers, never as text
 * (`"9-0" > "10-0"` as strings).
 */
export function parseStreamId (id: string): [bigint, bigint] | undefined {
  const m = /^(\d{1,20})(?:-(\d{1,20}))?$/.exec(id)
  if (!m) return undefined
  return [BigInt(m[1] as string), BigInt(m[2] ?? '0')]
}

/** <0, 0, >0 like a comparator; an unparsable id sorts first. */
export function compareStreamIds (a: string, b: string): number {
  const x = parseStreamId(a)
  const y = parseStreamId(b)
  if (!x || !y) return x ? 1 : y ? -1 : 0
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1
  return x[1] === y[1] ? 0 : x[1] < y[1] ? -1 : 1
}

/** The id just before `id` (for exclusive ranges): `5-0` → `4-18446744073709551615`. */
export function previousStreamId (id: string): string {
  const p = parseStreamId(id)
  if (!p) return id
  if (p[1] > 0n) return `${p[0]}-${p[1] - 1n}`
  return p[0] > 0n ? `${p[0] - 1n}-18446744073709551615` : '0-0'
}

/** The first id at or after a wall-clock time (XADD `*` ids are milliseconds since the epoch). */
export function streamIdAt (time: Date): string {
  return `${Math.max(0, time.getTime())}-0`
}
