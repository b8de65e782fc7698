import { lti11Error } from './errors.js'

/** One decoded `name=value` pair. Order is kept; repeated names stay repeated. */
export type ParamPair = readonly [name: string, value: string]

/**
 * The shapes a caller may hand us decoded parameters in: a list of pairs, `URLSearchParams`, or a
 * record whose repeated names carry arrays (what `@fastify/formbody` and `fast-querystring` give).
 */
export type ParamInput =
  | ReadonlyArray<ParamPair>
  | URLSearchParams
  | Readonly<Record<string, string | readonly string[] | undefined>>

/** Flattens any accepted shape into pairs, refusing non-string values (a JSON body is not a form). */
export function toParamPairs (input: ParamInput | undefined): ParamPair[] {
  if (input === undefined) return []
  if (input instanceof URLSearchParams) return [...input.entries()]
  if (Array.isArray(input)) {
    return (input as ReadonlyArray<unknown>).map(pair => {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
        throw lti11Error('LTI11_MALFORMED_PARAM', { reason: 'parameters must be string pairs' })
      }
      return [pair[0], pair[1]] as const
    })
  }
  const pairs: ParamPair[] = []
  for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
    if (value === undefined) continue
    if (typeof value === 'string') {
      pairs.push([name, value])
    } else if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
      for (const v of value as string[]) pairs.push([name, v])
    } else {
      throw lti11Error('LTI11_MALFORMED_PARAM', { name: truncateName(name), reason: 'not a string value' })
    }
  }
  return pairs
}

/**
 * Decodes an `application/x-www-form-urlencoded` string as RFC 5849 §3.4.1.3.1 asks for the query
 * component (`+` is a space, `%XX` are UTF-8 bytes). WHATWG `URLSearchParams` does exactly that and
 * keeps repeated names.
 */
export function parseFormEncoded (raw: string): ParamPair[] {
  return [...new URLSearchParams(raw).entries()]
}

/**
 * Splits a request target as received (`/path?query`) into the path and its decoded query pairs.
 * A separately supplied `query` is used only when the target has none, so a pre-parsed query can
 * never be counted twice.
 */
export function splitRequestTarget (rawPath: string, query: string | ParamInput | undefined): { path: string, queryPairs: ParamPair[] } {
  const cut = rawPath.search(/[?#]/)
  const path = cut === -1 ? rawPath : rawPath.slice(0, cut)
  if (cut !== -1 && rawPath[cut] === '?') {
    if (query !== undefined) throw new TypeError('rawPath already carries a query string; do not pass query as well')
    const hash = rawPath.indexOf('#', cut)
    return { path, queryPairs: parseFormEncoded(rawPath.slice(cut + 1, hash === -1 ? undefined : hash)) }
  }
  if (typeof query === 'string') return { path, queryPairs: parseFormEncoded(query.startsWith('?') ? query.slice(1) : query) }
  return { path, queryPairs: toParamPairs(query) }
}

/** Parameter names land in error details and logs: keep them short and printable. */
export function truncateName (name: string): string {
  const printable = name.replace(/[^\x20-\x7e]/g, '?')
  return printable.length > 64 ? printable.slice(0, 64) + '…' : printable
}
