/**
 * Admin input for `contentScope`: each pattern is checked by the launch code's own rule
 * (src/lti/content-scope.ts), so nothing is stored that the launch would refuse to compile.
 * Problems come back as field errors (`contentScope.2`) like every other admin validation.
 */
import { contentScopePatternProblem } from '../lti/content-scope.js'
import type { FieldProblem } from './errors.js'

export { MAX_SCOPE_PATTERN_LENGTH, MAX_SCOPE_PATTERNS, contentScopePatternProblem } from '../lti/content-scope.js'

export function contentScopeProblems (patterns: readonly string[], field = 'contentScope'): FieldProblem[] {
  const problems: FieldProblem[] = []
  patterns.forEach((pattern, i) => {
    const problem = contentScopePatternProblem(pattern)
    if (problem !== undefined) problems.push({ field: `${field}.${i}`, message: problem })
  })
  return problems
}

/** An empty scope is valid (nothing launchable until an admin says so) but rarely meant: the answer says so. */
export function contentScopeWarnings (scope: readonly string[]): { warnings?: string[] } {
  return scope.length === 0 ? { warnings: ['contentScope is empty: every launch is refused (CONTENT_OUT_OF_SCOPE) until patterns are added'] } : {}
}
