import t from 'tap'
import { AppError, errorFamilies } from '../../src/errors.js'
import { GRADES_ERROR_DISPOSITION, GradesError, fromLmsError, isPermanentGradesError } from '../../src/grades/errors.js'
import { lmsError } from '../../src/lms/errors.js'

t.test('every GRADES_ code has a status, a learner-safe message and a disposition', async t => {
  const family = errorFamilies.find(f => Object.hasOwn(f, 'GRADES_UNKNOWN_BLOCK'))!
  t.same(Object.keys(family).sort(), Object.keys(GRADES_ERROR_DISPOSITION).sort())
  for (const code of Object.keys(family)) t.match(code, /^GRADES_[A-Z_]+$/)
  t.equal(isPermanentGradesError(GradesError('GRADES_UNKNOWN_BLOCK')), true, 'dead letter')
  t.equal(isPermanentGradesError(GradesError('GRADES_LMS_UNAVAILABLE')), false, 'retry')
  t.equal(isPermanentGradesError(new AppError('LMS_UNAVAILABLE', 503, 'x')), false, 'not ours to judge')
  t.equal(isPermanentGradesError(new Error('x')), false)
})

t.test('LMS failures: a bad key is the event\'s fault, everything else is retried', async t => {
  t.match(fromLmsError(lmsError('LMS_CONTENT_KEY_INVALID'), { call: 'blocks' }), { code: 'GRADES_CONTENT_MISMATCH', details: { call: 'blocks', lmsCode: 'LMS_CONTENT_KEY_INVALID' } })
  for (const code of ['LMS_UNAVAILABLE', 'LMS_RATE_LIMITED', 'LMS_AUTH_FAILED', 'LMS_PERMISSION_DENIED', 'LMS_BAD_RESPONSE'] as const) {
    t.match(fromLmsError(lmsError(code), {}), { code: 'GRADES_LMS_UNAVAILABLE', details: { lmsCode: code } }, code)
  }
  t.match(fromLmsError(new TypeError('fetch failed'), {}), { code: 'GRADES_LMS_UNAVAILABLE', details: { reason: 'fetch failed' } })
  const own = GradesError('GRADES_UNKNOWN_COURSE')
  t.equal(fromLmsError(own, {}), own, 'already ours: unchanged')
})
