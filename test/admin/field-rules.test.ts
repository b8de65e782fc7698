import t from 'tap'
import { contentScopePatternProblem, contentScopeProblems } from '../../src/admin/content-scope-rule.js'
import { hostPatternProblems, isHostPattern, normalizeHostPatterns } from '../../src/admin/host-pattern-rule.js'
import { jsonColumnProblems, TEXT_COLUMN_BYTES } from '../../src/admin/json-column-rule.js'

t.test('content scope patterns', async t => {
  for (const ok of ['*', 'course-v1:MITx+*', 'course-v1:MITx+6.002x+2024_T1', 'block-v1:MITx+6.002x+2024+type@problem+block@*', 'course-v1:École+Cours+2025', 'course-v1:*+*+2025']) {
    t.equal(contentScopePatternProblem(ok), undefined, ok)
  }
  for (const bad of ['', 'MITx/6.002x/2012', 'library-v1:MITx+lib', 'course-v1:MITx *', 'course-v1:MITx+<script>', 'course-v1:' + 'a'.repeat(250), '**/*', 'course-v1:a\nb']) {
    t.type(contentScopePatternProblem(bad), 'string', JSON.stringify(bad.slice(0, 30)))
  }
  t.same(contentScopeProblems(['course-v1:A+*', 'nope', '*', 'x y'], 'contentScope').map(p => p.field), ['contentScope.1', 'contentScope.3'])
})

t.test('host patterns', async t => {
  for (const ok of ['canvas.example.edu', 'Canvas.Example.EDU.', '*.example.edu', '203.0.113.7', '[2001:db8::1]', '2001:db8::1', 'localhost']) {
    t.ok(isHostPattern(ok), ok)
  }
  for (const bad of ['https://canvas.example.edu', 'canvas.example.edu:443', 'canvas.example.edu/path', '*', '*.', 'a b', '', 'user@host', 'host:']) {
    t.notOk(isHostPattern(bad), bad)
  }
  t.same(hostPatternProblems(['ok.example', 'http://x'], 'outcomeHosts'), [{ field: 'outcomeHosts.1', message: 'must be a host name, an IP literal or *.suffix (no scheme, port or path)' }])
  t.same(hostPatternProblems(undefined, 'x'), [])
  t.same(normalizeHostPatterns(['A.example.', 'a.example', '[2001:DB8::1]']), ['a.example', '2001:db8::1'])
})

t.test('JSON list columns fit a MySQL TEXT column', async t => {
  const wide = Array.from({ length: 300 }, (_, i) => `course-v1:${'é'.repeat(120)}+${i}`)
  t.ok(JSON.stringify(wide).length < TEXT_COLUMN_BYTES, 'fewer characters than the limit…')
  t.same(jsonColumnProblems({ contentScope: wide, outcomeHosts: ['a'], allowedHosts: undefined }).map(p => p.field), ['contentScope'], '…but more bytes')
  t.same(jsonColumnProblems({ contentScope: ['*'] }), [])
})
