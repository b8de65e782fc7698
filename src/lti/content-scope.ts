import { registerErrors } from '../errors.js'

export const contentScopeError = registerErrors({
  CONTENT_OUT_OF_SCOPE: [403, 'This platform is not allowed to launch this content. Ask the tool administrator to add it to the platform\'s content scope.'],
  CONTENT_BAD_SCOPE_PATTERN: [400, 'A content scope pattern is not valid.']
})

/**
 * A consumer's or registration's `contentScope`, compiled once: glob-like patterns over course and
 * usage keys where `*` (any run of characters, `+` and `:` included) is the only wildcard and every
 * other character is literal (`.` and `+` included). `*` alone allows everything; an empty list
 * allows nothing (architecture.md: nothing is launchable until an admin says so).
 */
export interface ContentScope {
  readonly patterns: readonly string[]
  /** True when the course key, or the usage key when given, matches a pattern. */
  allows (courseKey: string, usageKey?: string): boolean
}

export const MAX_SCOPE_PATTERN_LENGTH = 255
export const MAX_SCOPE_PATTERNS = 500

/** Characters of course/usage keys (openedx-rest.md §8) plus `+ @ %` separators and the `*` wildcard. */
const PATTERN_CHARS = /^[\p{L}\p{N}_\-~.:+@%*]+$/u
const PATTERN_NAMESPACES = ['course-v1:', 'block-v1:']

/** Why a pattern is refused, or `undefined` when it is valid. For admin input (API and CLI). */
export function contentScopePatternProblem (pattern: unknown): string | undefined {
  if (typeof pattern !== 'string') return 'must be a string'
  if (pattern === '') return 'must not be empty'
  if (pattern.length > MAX_SCOPE_PATTERN_LENGTH) return `must be at most ${MAX_SCOPE_PATTERN_LENGTH} characters`
  if (!PATTERN_CHARS.test(pattern)) return 'may only contain key characters (letters, digits, _ - ~ . : + @ %) and *'
  if (pattern !== '*' && !PATTERN_NAMESPACES.some(ns => pattern.startsWith(ns))) {
    return 'must be * or start with course-v1: or block-v1: (library and legacy keys cannot be launched)'
  }
  return undefined
}

/**
 * Validates an admin-supplied list and returns it as `string[]`; throws CONTENT_BAD_SCOPE_PATTERN
 * naming the first bad entry. Duplicates are dropped, order kept.
 */
export function validateContentScope (patterns: unknown): string[] {
  if (!Array.isArray(patterns)) throw contentScopeError('CONTENT_BAD_SCOPE_PATTERN', { reason: 'contentScope must be a list of patterns' })
  if (patterns.length > MAX_SCOPE_PATTERNS) throw contentScopeError('CONTENT_BAD_SCOPE_PATTERN', { reason: `at most ${MAX_SCOPE_PATTERNS} patterns` })
  patterns.forEach((pattern: unknown, index) => {
    const problem = contentScopePatternProblem(pattern)
    if (problem !== undefined) {
      throw contentScopeError('CONTENT_BAD_SCOPE_PATTERN', { index, pattern: typeof pattern === 'string' ? pattern.slice(0, 300) : undefined, reason: problem })
    }
  })
  return [...new Set(patterns as string[])]
}

/**
 * Compiles a validated list. Each pattern becomes its literal segments between stars, matched
 * greedily left to right (prefix, then each middle segment at its first occurrence, then suffix).
 * For `*`-only globs that is exact and linear, where a `.*` regex could backtrack exponentially on
 * a pattern like `*a*a*a*a*`; and there is no regex syntax to escape.
 */
export function compileContentScope (patterns: readonly string[]): ContentScope {
  const valid = validateContentScope(patterns)
  const matchers = valid.map(compilePattern)
  return {
    patterns: valid,
    allows (courseKey: string, usageKey?: string): boolean {
      return matchers.some(matches => matches(courseKey) || (usageKey !== undefined && matches(usageKey)))
    }
  }
}

/** Throws CONTENT_OUT_OF_SCOPE (403) unless the scope allows the launch's course or block. */
export function assertInContentScope (scope: ContentScope, courseKey: string, usageKey?: string): void {
  if (!scope.allows(courseKey, usageKey)) {
    throw contentScopeError('CONTENT_OUT_OF_SCOPE', { courseKey, usageKey })
  }
}

function compilePattern (pattern: string): (subject: string) => boolean {
  const segments = pattern.split('*')
  if (segments.length === 1) return subject => subject === pattern
  const first = segments[0] as string
  const last = segments[segments.length - 1] as string
  const middle = segments.slice(1, -1).filter(segment => segment !== '')
  const minLength = first.length + last.length + middle.reduce((sum, segment) => sum + segment.length, 0)
  return subject => {
    if (subject.length < minLength || !subject.startsWith(first) || !subject.endsWith(last)) return false
    let at = first.length
    const end = subject.length - last.length
    for (const segment of middle) {
      const found = subject.indexOf(segment, at)
      if (found === -1 || found + segment.length > end) return false
      at = found + segment.length
    }
    return true
  }
}
