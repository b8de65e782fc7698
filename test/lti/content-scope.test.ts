import fc from 'fast-check'
import t from 'tap'
import { assertInContentScope, compileContentScope, contentScopePatternProblem, validateContentScope } from '../../src/lti/content-scope.js'

const COURSE = 'course-v1:MITx+6.002x+2024_T1'
const BLOCK = 'block-v1:MITx+6.002x+2024_T1+type@problem+block@p1'

t.test('course and block patterns; either key may match', async t => {
  const scope = compileContentScope(['course-v1:MITx+*', 'block-v1:HarvardX+CS50+*'])
  t.ok(scope.allows(COURSE), 'course prefix')
  t.ok(scope.allows(COURSE, BLOCK), 'the course matches, whatever the block')
  t.ok(scope.allows('course-v1:HarvardX+CS50+2025', 'block-v1:HarvardX+CS50+2025+type@html+block@h'), 'only the block matches')
  t.notOk(scope.allows('course-v1:HarvardX+CS50+2025'), 'course alone does not match a block pattern')
  t.notOk(scope.allows('course-v1:HarvardX+CS51+2025', 'block-v1:HarvardX+CS51+2025+type@html+block@h'))
  t.notOk(scope.allows('course-v1:MITxOnline+A+B'), 'the + after MITx is literal, so MITxOnline is another org')
})

t.test('`*` is the only wildcard; regex metacharacters are literal', async t => {
  const scope = compileContentScope(['course-v1:M.T+6.002x+*'])
  t.ok(scope.allows('course-v1:M.T+6.002x+R'))
  t.notOk(scope.allows('course-v1:MIT+6.002x+R'), '. is not "any character"')
  t.notOk(scope.allows('course-v1:M.T+6x002x+R'))
  const plus = compileContentScope(['course-v1:A+B+C'])
  t.ok(plus.allows('course-v1:A+B+C'), 'no wildcard: exact match')
  t.notOk(plus.allows('course-v1:AA+B+C'), '+ is not "one or more"')
  t.notOk(plus.allows('course-v1:A+B+CD'), 'anchored at the end')
  t.notOk(plus.allows('xcourse-v1:A+B+C'), 'anchored at the start')
  const middle = compileContentScope(['course-v1:*+Physics*+2025*'])
  t.ok(middle.allows('course-v1:MITx+Physics101+2025_T1'))
  t.ok(middle.allows('course-v1:MITx+Physics+2025'), 'a star matches the empty string')
  t.notOk(middle.allows('course-v1:MITx+Chem+2025_Physics'), 'segments in order')
  t.notOk(compileContentScope(['course-v1:a*a']).allows('course-v1:a'), 'prefix and suffix may not overlap')
})

t.test('`*` allows everything, an empty list nothing', async t => {
  t.ok(compileContentScope(['*']).allows(COURSE, BLOCK))
  t.notOk(compileContentScope([]).allows(COURSE, BLOCK))
  t.throws(() => assertInContentScope(compileContentScope([]), COURSE, BLOCK), { code: 'CONTENT_OUT_OF_SCOPE', status: 403, details: { courseKey: COURSE, usageKey: BLOCK } })
  t.doesNotThrow(() => assertInContentScope(compileContentScope(['course-v1:MITx+*']), COURSE, BLOCK))
})

t.test('admin input validation', async t => {
  for (const good of ['*', 'course-v1:MITx+*', 'block-v1:MITx+6.002x+*', 'course-v1:Université+*', 'block-v1:A+B+C+type@problem+block@a%20b']) {
    t.equal(contentScopePatternProblem(good), undefined, good)
  }
  for (const [bad, why] of [
    ['', /empty/], ['MITx+*', /course-v1: or block-v1:/], ['lb:Org:*', /library/], ['course-v1:MITx+ *', /characters/], ['course-v1:MITx+(a|b)', /characters/],
    ['course-v1:MITx+?', /characters/], ['course-v1:' + 'a'.repeat(250), /255/], [42, /string/]
  ] as const) {
    t.match(contentScopePatternProblem(bad), why, String(bad).slice(0, 40))
  }
  t.same(validateContentScope(['course-v1:A+*', '*', 'course-v1:A+*']), ['course-v1:A+*', '*'], 'duplicates dropped, order kept')
  t.throws(() => validateContentScope(['course-v1:A+*', 'MITx']), { code: 'CONTENT_BAD_SCOPE_PATTERN', status: 400, details: { index: 1, pattern: 'MITx' } })
  t.throws(() => validateContentScope('course-v1:A+*'), { code: 'CONTENT_BAD_SCOPE_PATTERN' }, 'not a list')
  t.throws(() => validateContentScope(Array(501).fill('*')), { code: 'CONTENT_BAD_SCOPE_PATTERN' }, 'too many')
  t.throws(() => compileContentScope(['bad pattern']), { code: 'CONTENT_BAD_SCOPE_PATTERN' }, 'compile validates too')
})

t.test('matching equals a reference regex (escaped literal parts, .* for stars)', async t => {
  const alphabet = fc.constantFrom(...'ab+.:*'.split(''))
  const reference = (pattern: string) => new RegExp('^' + pattern.split('*').map(s => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$', 'su')
  fc.assert(fc.property(fc.string({ unit: alphabet, maxLength: 8 }), fc.string({ unit: fc.constantFrom(...'ab+.:'.split('')), maxLength: 10 }), (tail, subjectTail) => {
    const pattern = 'course-v1:' + tail
    const subject = 'course-v1:' + subjectTail
    return compileContentScope([pattern]).allows(subject) === reference(pattern).test(subject)
  }), { numRuns: 3000 })
  t.pass('3000 random pattern/key pairs')
})

t.test('no catastrophic backtracking on many stars', async t => {
  const scope = compileContentScope(['course-v1:' + '*a'.repeat(60) + '*b'])
  const started = process.hrtime.bigint()
  t.notOk(scope.allows('course-v1:' + 'a'.repeat(240)))
  t.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000, 'answers at once (a .* regex would not finish)')
})
