import fc from 'fast-check'
import t from 'tap'
import { blockIdOf, blockTypeOf, courseKeyOfUsage, parseCourseKey, parseLaunchContent, parseUsageKey } from '../../src/lti/content-keys.js'

t.test('course-v1 keys', async t => {
  t.same(parseCourseKey('course-v1:MITx+6.002x+2024_T1'), { org: 'MITx', course: '6.002x', run: '2024_T1', key: 'course-v1:MITx+6.002x+2024_T1' })
  t.same(parseCourseKey('course-v1:edX+DemoX+Demo_Course'), { org: 'edX', course: 'DemoX', run: 'Demo_Course', key: 'course-v1:edX+DemoX+Demo_Course' })
  t.equal(parseCourseKey('course-v1:Université+Café~1+été-2025.v:2').org, 'Université', 'Unicode word characters, ~ . : -')
  t.equal(parseCourseKey('course-v1:東京大学+物理+二〇二五').course, '物理')
  for (const bad of [
    'course-v1:Org+Course', 'course-v1:Org+Course+Run+Extra', 'course-v1:Org++Run', 'course-v1:Org+Co urse+Run',
    'course-v1:Org+Course+Run/', 'course-v1:Org+Course+Run+branch@draft', 'Course-v1:Org+C+R', 'course-v1:Org+C+R\n',
    'course-v1:Org+C+R%20', '', 'block-v1:Org+C+R+type@problem+block@x', `course-v1:${'a'.repeat(250)}+C+R`
  ]) {
    t.throws(() => parseCourseKey(bad), { code: 'CONTENT_BAD_COURSE_KEY', status: 400 }, JSON.stringify(bad).slice(0, 60))
  }
})

t.test('block-v1 keys and their accessors', async t => {
  const key = 'block-v1:MITx+6.002x+2024_T1+type@problem+block@a1b2c3%20d'
  t.same(parseUsageKey(key), {
    courseKey: { org: 'MITx', course: '6.002x', run: '2024_T1', key: 'course-v1:MITx+6.002x+2024_T1' },
    blockType: 'problem',
    blockId: 'a1b2c3%20d',
    key
  })
  t.equal(courseKeyOfUsage(key), 'course-v1:MITx+6.002x+2024_T1')
  t.equal(blockTypeOf('block-v1:edX+DemoX+Demo_Course+type@sequential+block@basic_questions'), 'sequential')
  t.equal(blockIdOf('block-v1:edX+DemoX+Demo_Course+type@vertical+block@vertical_0270f6de40fc'), 'vertical_0270f6de40fc')
  for (const bad of [
    'block-v1:Org+C+R+type@problem', 'block-v1:Org+C+R+block@x', 'block-v1:Org+C+R+type@+block@x', 'block-v1:Org+C+R+type@problem+block@',
    'block-v1:Org+C+R+type@pro%blem+block@x', 'block-v1:Org+C+R+type@problem+block@x+extra', 'course-v1:Org+C+R', 'block-v1:Org+C+R+type@problem+block@x/y'
  ]) {
    t.throws(() => parseUsageKey(bad), { code: 'CONTENT_BAD_USAGE_KEY', status: 400 }, bad)
  }
})

t.test('library and legacy keys get their own codes', async t => {
  for (const key of ['library-v1:Org+Lib', 'lib-block-v1:Org+Lib+type@problem+block@x', 'lb:Org:slug:problem:p1', 'lib:Org:slug', 'lct:Org:lib:collection', 'lib-collection:Org:lib:c']) {
    t.throws(() => parseCourseKey(key), { code: 'CONTENT_LIBRARY_KEY_NOT_SUPPORTED', status: 400 }, key)
    t.throws(() => parseUsageKey(key), { code: 'CONTENT_LIBRARY_KEY_NOT_SUPPORTED' }, key)
  }
  for (const key of ['MITx/6.002x/2012_Fall', 'i4x://MITx/6.002x/problem/p1', 'c4x://MITx/6.002x/asset/x.png', 'slashes:MITx+6.002x+2012_Fall', 'location:MITx+6.002x+2012_Fall+problem+p1']) {
    t.throws(() => parseCourseKey(key), { code: 'CONTENT_LEGACY_KEY_NOT_SUPPORTED', status: 400 }, key)
    t.throws(() => parseUsageKey(key), { code: 'CONTENT_LEGACY_KEY_NOT_SUPPORTED' }, key)
  }
})

t.test('a launch names a block of its own course', async t => {
  const { course, usage } = parseLaunchContent('course-v1:Org+C1+R1', 'block-v1:Org+C1+R1+type@problem+block@p1')
  t.equal(course.key, usage.courseKey.key)
  t.throws(() => parseLaunchContent('course-v1:Org+C1+R1', 'block-v1:Org+C1+R2+type@problem+block@p1'), { code: 'CONTENT_USAGE_NOT_IN_COURSE', status: 400, details: { courseKey: 'course-v1:Org+C1+R1', usageCourseKey: 'course-v1:Org+C1+R2' } })
  t.throws(() => parseLaunchContent('course-v1:org+C1+R1', 'block-v1:Org+C1+R1+type@problem+block@p1'), { code: 'CONTENT_USAGE_NOT_IN_COURSE' }, 'keys are case-sensitive')
  t.throws(() => parseLaunchContent('course-v1:Org+C1+R1', 'lb:Org:lib:problem:p1'), { code: 'CONTENT_LIBRARY_KEY_NOT_SUPPORTED' })
})

t.test('random well-formed keys parse, and the block key yields its course key', async t => {
  const part = fc.string({ unit: fc.constantFrom(...'aZ09_-~.:é日'.split('')), minLength: 1, maxLength: 12 })
  fc.assert(fc.property(part, part, part, part, part, (org, course, run, type, id) => {
    const courseKey = `course-v1:${org}+${course}+${run}`
    const usage = parseUsageKey(`block-v1:${org}+${course}+${run}+type@${type}+block@${id}`)
    return parseCourseKey(courseKey).key === courseKey && usage.courseKey.key === courseKey && usage.blockType === type && usage.blockId === id
  }), { numRuns: 500 })
  t.pass('500 random keys')
})
