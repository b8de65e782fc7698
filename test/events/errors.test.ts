import t from 'tap'
import { AppError, errorFamilies } from '../../src/errors.js'
import { EVENT_ERROR_DISPOSITION, EventError, isEventError, isPermanentEventError, isTransientEventError } from '../../src/events/errors.js'

t.test('every EVENT_ code is registered and has a disposition', async t => {
  const family = errorFamilies.find(f => Object.hasOwn(f, 'EVENT_BAD_MAGIC'))
  t.ok(family, 'registered with registerErrors')
  t.same(Object.keys(family!).sort(), Object.keys(EVENT_ERROR_DISPOSITION).sort())
  for (const code of Object.keys(family!)) t.match(code, /^EVENT_[A-Z_]+$/)
})

t.test('registry problems are retried, message problems are dead-lettered', async t => {
  for (const code of ['EVENT_REGISTRY_UNAVAILABLE', 'EVENT_REGISTRY_AUTH_FAILED'] as const) {
    const err = EventError(code)
    t.ok(isTransientEventError(err), code)
    t.notOk(isPermanentEventError(err), code)
  }
  for (const code of ['EVENT_BAD_MAGIC', 'EVENT_UNKNOWN_SCHEMA', 'EVENT_TRUNCATED', 'EVENT_SCHEMA_MISMATCH', 'EVENT_MISSING_HEADER',
    'EVENT_DUPLICATE_HEADER', 'EVENT_BAD_HEADER', 'EVENT_BAD_PAYLOAD', 'EVENT_BAD_FIELD'] as const) {
    const err = EventError(code)
    t.ok(isPermanentEventError(err), code)
    t.notOk(isTransientEventError(err), code)
    t.ok(err instanceof AppError)
    t.equal(err.status, 422)
  }
})

t.test('errors that are not ours are neither', async t => {
  for (const err of [new Error('EVENT_BAD_MAGIC'), new AppError('LMS_DOWN', 503, 'x'), undefined, 'EVENT_BAD_MAGIC']) {
    t.notOk(isEventError(err))
    t.notOk(isPermanentEventError(err))
    t.notOk(isTransientEventError(err))
  }
})
