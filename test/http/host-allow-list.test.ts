import t from 'tap'
import { hostMatchesPattern, isHostAllowed, isValidHostPattern } from '../../src/http/host-allow-list.js'

t.test('exact hosts', async t => {
  t.ok(hostMatchesPattern('canvas.example.edu', 'canvas.example.edu'))
  t.ok(hostMatchesPattern('Canvas.Example.EDU.', 'canvas.example.edu'), 'case and one trailing dot ignored')
  t.notOk(hostMatchesPattern('evilcanvas.example.edu', 'canvas.example.edu'))
  t.notOk(hostMatchesPattern('canvas.example.edu.evil.com', 'canvas.example.edu'))
  t.ok(hostMatchesPattern('::1', '[::1]'), 'IPv6 literals compare without brackets')
})

t.test('leading-wildcard suffix patterns', async t => {
  t.ok(hostMatchesPattern('a.example.edu', '*.example.edu'))
  t.ok(hostMatchesPattern('a.b.example.edu', '*.example.edu'), 'any depth')
  t.notOk(hostMatchesPattern('example.edu', '*.example.edu'), 'the apex must be listed on its own')
  t.notOk(hostMatchesPattern('badexample.edu', '*.example.edu'), 'label boundary respected')
  t.notOk(hostMatchesPattern('a.example.edu.evil.com', '*.example.edu'))
})

t.test('invalid patterns never match', async t => {
  for (const p of ['*', '*.', '', 'a.*.edu', 'exa mple.edu', '*example.edu', 'example.edu:443', 'https://example.edu', '[::1']) {
    t.notOk(isValidHostPattern(p), `invalid: ${JSON.stringify(p)}`)
    t.notOk(isHostAllowed('example.edu', [p]), `does not allow: ${JSON.stringify(p)}`)
  }
  t.ok(isValidHostPattern('*.edu'))
  t.ok(isValidHostPattern('lms'))
  t.ok(isValidHostPattern('[2001:db8::1]'))
  t.ok(isValidHostPattern('lms_web'), 'docker compose service names may hold underscores')
})

t.test('lists', async t => {
  t.ok(isHostAllowed('x.example.edu', ['other.org', '*.example.edu']))
  t.notOk(isHostAllowed('x.example.edu', []), 'an empty list allows nothing')
})
