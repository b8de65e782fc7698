import t from 'tap'
import { generateLmsUsername, generateUnusablePassword, syntheticEmail } from '../../src/lms/lms-identity.js'

t.test('usernames: 30 characters of [A-Za-z0-9], like the LMS LTI provider', async t => {
  const seen = new Set<string>()
  const chars = new Set<string>()
  for (let i = 0; i < 500; i++) {
    const u = generateLmsUsername()
    t.match(u, /^[A-Za-z0-9]{30}$/)
    seen.add(u)
    for (const c of u) chars.add(c)
  }
  t.equal(seen.size, 500, 'no repeats')
  t.equal(chars.size, 62, 'the whole alphabet is used (15,000 draws)')
})

t.test('synthetic email', async t => {
  t.equal(syntheticEmail('AbC123', 'lti.example.com'), 'AbC123@lti.example.com')
  t.equal(syntheticEmail('u', '@LTI.Example.COM '), 'u@lti.example.com', 'normalises the domain')
  t.throws(() => syntheticEmail('u', 'localhost'), TypeError)
  t.throws(() => syntheticEmail('u', 'bad domain.com'), TypeError)
})

t.test('unusable passwords', async t => {
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const p = generateUnusablePassword('someuser')
    t.ok(p.length >= 32, 'at least 32 characters')
    t.match(p, /[A-Z]/)
    t.match(p, /[a-z]/)
    t.match(p, /[0-9]/)
    t.match(p, /[-_.!~*]/)
    seen.add(p)
  }
  t.equal(seen.size, 200)
  const username = generateLmsUsername()
  t.not(generateUnusablePassword(username), username)
})
