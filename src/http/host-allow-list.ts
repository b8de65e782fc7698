import { parseIpv6 } from './ip-address.js'

/**
 * Per-call host allow-lists. A pattern is either an exact host (`canvas.example.edu`, an IP literal
 * such as `203.0.113.7` or `[2001:db8::1]`) or a leading-wildcard suffix (`*.example.edu`), which
 * matches sub-domains at any depth but not `example.edu` itself: list the apex separately when it
 * is wanted. Ports are not part of a pattern. Comparison is case-insensitive and ignores one
 * trailing dot, because DNS does.
 */

export function normalizeHost (host: string): string {
  let h = host.trim().toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  if (h.endsWith('.')) h = h.slice(0, -1)
  return h
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/

/** True when the pattern is one this module understands; admin input should be checked with it. */
export function isValidHostPattern (pattern: string): boolean {
  const p = normalizeHost(pattern)
  if (p.includes(':')) return parseIpv6(p) !== null // an IPv6 literal, compared exactly; not `host:port`
  const body = p.startsWith('*.') ? p.slice(2) : p
  const labels = body.split('.')
  // `*.edu`-style patterns are allowed but `*` alone (or `*.`) would allow everything.
  return labels.length >= 1 && body.length > 0 && labels.every(l => LABEL.test(l))
}

export function hostMatchesPattern (host: string, pattern: string): boolean {
  const h = normalizeHost(host)
  const p = normalizeHost(pattern)
  if (h.length === 0 || p.length === 0) return false
  if (p.startsWith('*.')) {
    const suffix = p.slice(1) // ".example.edu"
    return suffix.length > 1 && h.length > suffix.length && h.endsWith(suffix)
  }
  return h === p
}

export function isHostAllowed (host: string, patterns: readonly string[]): boolean {
  return patterns.some(p => isValidHostPattern(p) && hostMatchesPattern(host, p))
}
