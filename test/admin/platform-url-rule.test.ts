import t from 'tap'
import { isLoopbackHost, platformUrlProblem } from '../../src/admin/platform-url-rule.js'

const strict = { allowLoopbackHttp: false }
const loose = { allowLoopbackHttp: true }

t.test('https URLs are accepted in both modes', async t => {
  for (const url of ['https://canvas.instructure.com', 'https://sso.canvaslms.com/api/lti/authorize_redirect', 'https://lms.example.edu:8443/jwks?x=1', 'https://[2001:db8::1]/jwks']) {
    t.equal(platformUrlProblem(url, strict), null, url)
    t.equal(platformUrlProblem(url, loose), null, url)
  }
})

t.test('http only to loopback, only when allowed', async t => {
  for (const url of ['http://localhost:9001/auth', 'http://127.0.0.1/jwks', 'http://127.8.9.10/jwks', 'http://[::1]:80/x', 'http://platform.localhost/x', 'http://LOCALHOST./x']) {
    t.match(platformUrlProblem(url, strict), /https/, `${url} refused by default`)
    t.equal(platformUrlProblem(url, loose), null, `${url} allowed for tests and the demo`)
  }
  for (const url of ['http://canvas.example.edu/', 'http://10.0.0.1/', 'http://192.168.1.1/', 'http://[::ffff:127.0.0.1]/', 'http://localhost.example.com/']) {
    t.match(platformUrlProblem(url, loose), /https/, `${url} is not loopback`)
  }
  t.ok(isLoopbackHost('[::1]'))
  t.notOk(isLoopbackHost('example.com'))
})

t.test('malformed or dangerous URLs are refused with a reason that does not echo them', async t => {
  const cases: Array<[string, RegExp]> = [
    ['/relative/jwks', /absolute/],
    ['canvas.example.edu/jwks', /absolute/],
    ['ftp://canvas.example.edu/jwks', /https/],
    ['javascript:alert(1)', /https/],
    ['https://user:pw@canvas.example.edu/', /credentials/],
    ['https://canvas.example.edu/#frag', /fragment/],
    ['https://canvas.example.edu/a b', /spaces/],
    ['https://canvas.example.edu/\n', /control/],
    ['', /absolute/]
  ]
  for (const [url, reason] of cases) {
    const problem = platformUrlProblem(url, loose)
    t.match(problem, reason, JSON.stringify(url))
    if (url.length > 3) t.notOk(problem?.includes(url))
  }
})
