/**
 * Admin input for host allow-lists (outcomeHosts, allowedHosts): a host name, an IP literal or a
 * `*.suffix` pattern as src/http/host-allow-list.ts matches them. That module accepts anything with
 * a colon as an IPv6 literal, so `https://host` would pass it; here a colon must really be IPv6.
 */
import { isValidHostPattern, normalizeHost } from '../http/host-allow-list.js'
import { parseIpv6 } from '../http/ip-address.js'
import type { FieldProblem } from './errors.js'

export function isHostPattern (pattern: string): boolean {
  if (!isValidHostPattern(pattern)) return false
  const host = normalizeHost(pattern)
  return !host.includes(':') || parseIpv6(host) !== null
}

export function hostPatternProblems (patterns: readonly string[] | undefined, field: string): FieldProblem[] {
  const problems: FieldProblem[] = []
  patterns?.forEach((p, i) => {
    if (!isHostPattern(p)) problems.push({ field: `${field}.${i}`, message: 'must be a host name, an IP literal or *.suffix (no scheme, port or path)' })
  })
  return problems
}

/** Lower case, no brackets or trailing dot, duplicates dropped: the form the matcher compares. */
export function normalizeHostPatterns (patterns: readonly string[]): string[] {
  return [...new Set(patterns.map(normalizeHost))]
}
