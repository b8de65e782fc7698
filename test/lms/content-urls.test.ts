import t from 'tap'
import { isAppError } from '../../src/errors.js'
import { contentUrls } from '../../src/lms/content-urls.js'
import { blockTypeOf, courseKeyOfBlock, isBlockKey, isCourseKey } from '../../src/lms/opaque-keys.js'

const COURSE = 'course-v1:MITx+6.002x+2026_T1'
const UNIT = 'block-v1:MITx+6.002x+2026_T1+type@vertical+block@0a1b2c'
const SEQ = 'block-v1:MITx+6.002x+2026_T1+type@sequential+block@seq1'

t.test('opaque keys (openedx-rest.md §8)', async t => {
  t.ok(isCourseKey(COURSE))
  t.ok(isCourseKey('course-v1:Ünï+Cødé+Rün'), 'Unicode word characters')
  t.notOk(isCourseKey('MITx/6.002x/2012_Fall'), 'legacy slash keys refused')
  t.notOk(isCourseKey('course-v1:Org+C'), 'three parts')
  t.notOk(isCourseKey('course-v1:Org+C+R/../x'))
  t.ok(isBlockKey(UNIT))
  t.ok(isBlockKey('block-v1:Org+C+R+type@problem+block@a%20b'), 'block ids may hold %')
  t.notOk(isBlockKey('lb:Org:lib:problem:p1'), 'v2 library blocks are not course content')
  t.notOk(isBlockKey('block-v1:Org+C+R+type@problem+block@a/b'))
  t.notOk(isBlockKey('block-v1:Org+C+R+type@problem+block@a?b'))
  t.equal(courseKeyOfBlock(UNIT), COURSE)
  t.equal(courseKeyOfBlock('nope'), null)
  t.equal(blockTypeOf(UNIT), 'vertical')
  t.equal(blockTypeOf('nope'), null)
})

t.test('#15 contentUrls', async t => {
  const urls = contentUrls('https://lms.example.edu/', COURSE, UNIT, { mfeUrl: 'https://apps.example.edu/learning', sequenceKey: SEQ, unitKey: UNIT })
  t.same(urls, {
    xblock: `https://lms.example.edu/xblock/${UNIT}?show_title=0&show_bookmark_button=0&recheck_access=1&view=student_view`,
    jump: `https://lms.example.edu/courses/${COURSE}/jump_to/${UNIT}`,
    relay: `https://lms.example.edu/lti_provider/courses/${COURSE}/${UNIT}`,
    mfe: `https://apps.example.edu/learning/course/${COURSE}/${SEQ}/${UNIT}`,
  })
  t.equal(contentUrls('https://lms.example.edu', COURSE, SEQ).mfe, null)
  t.equal(contentUrls('https://lms.example.edu', COURSE, SEQ, { mfeUrl: 'https://apps.example.edu/learning/', sequenceKey: SEQ }).mfe, `https://apps.example.edu/learning/course/${COURSE}/${SEQ}`)
})

t.test('contentUrls refuses keys that are not one block of that course', async t => {
  const code = (fn: () => unknown): string | undefined => {
    try { fn() } catch (err) { return isAppError(err) ? err.code : 'other' }
    return undefined
  }
  t.equal(code(() => contentUrls('https://lms', 'course-v1:Other+C+R', UNIT)), 'LMS_CONTENT_KEY_INVALID')
  t.equal(code(() => contentUrls('https://lms', COURSE, '../../admin')), 'LMS_CONTENT_KEY_INVALID')
  t.equal(code(() => contentUrls('https://lms', 'x', UNIT)), 'LMS_CONTENT_KEY_INVALID')
  t.equal(code(() => contentUrls('https://lms', COURSE, UNIT, { mfeUrl: 'https://a', sequenceKey: 'block-v1:Other+C+R+type@sequential+block@s' })), 'LMS_CONTENT_KEY_INVALID')
})
