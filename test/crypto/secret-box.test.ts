import t from 'tap'
import { createSecretBox } from '../../src/crypto/secret-box.js'

const box = createSecretBox('k'.repeat(40))

t.test('round trip, fresh IV each time', async t => {
  const a = box.seal('s3cret', 'ctx')
  const b = box.seal('s3cret', 'ctx')
  t.not(a, b)
  t.notMatch(a, /s3cret/)
  t.match(a, /^v1\./)
  t.equal(box.open(a, 'ctx'), 's3cret')
})

t.test('bound to its context, its key, and its bytes', async t => {
  const sealed = box.seal('s3cret', 'lti11_consumers.secret')
  t.throws(() => box.open(sealed, 'tool_keys.private_key'), { code: 'SECRET_UNREADABLE' })
  t.throws(() => createSecretBox('z'.repeat(40)).open(sealed, 'lti11_consumers.secret'), { code: 'SECRET_UNREADABLE' })
  const raw = Buffer.from(sealed.slice(3), 'base64url')
  raw[raw.length - 1]! ^= 1
  t.throws(() => box.open('v1.' + raw.toString('base64url'), 'lti11_consumers.secret'), { code: 'SECRET_UNREADABLE' })
  t.throws(() => box.open('v0.abc', 'x'), { code: 'SECRET_UNREADABLE' })
  t.throws(() => createSecretBox('short'), /32/)
})
