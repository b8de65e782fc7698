import t from 'tap'
import { isLoopbackHost, platformUrlProblem } from '../../src/admin/platform-url-rule.js'

const strict = { allowLoopbackHttp: false }
const loose = { allowLoopbackHttp: true }

t.test('https URLs are accepted in both modes', async t => {
  for (const url of ['https://canvas.instructure.com', 'https://sso.canvaslms.com/api/lti/authorize_redirect', 'https://lms.example.edu:8443/jwks?x=1', 'https://[2606:4700:4700::1111]/jwks', 'https://1.1.1.1/jwks']) {
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

t.test('addresses the outbound client would refuse are refused when saved (same address classes), without resolving names', async t => {
  const cases: Array<[string, RegExp]> = [
    ['https://10.1.2.3/jwks', /private/],
    ['https://192.168.0.10/auth', /private/],
    ['https://169.254.169.254/latest/meta-data', /metadata/],
    ['https://169.254.1.1/x', /link-local/],
    ['https://[fe80::1]/x', /link-local/],
    ['https://[fd00::1]/x', /private/],
    ['https://100.64.0.1/x', /cgnat/],
    ['https://0.0.0.0/x', /unspecified/],
    ['https://[2001:db8::1]/jwks', /documentation/],
    ['https://metadata.google.internal/computeMetadata/v1/', /public host name/],
    ['https://lms.internal/jwks', /public host name/],
    ['https://printer.local/x', /public host name/],
    ['https://intranet/x', /public host name/]
  ]
  for (const [url, reason] of cases) {
    t.match(platformUrlProblem(url, loose), reason, url)
    t.match(platformUrlProblem(url, strict), reason, url)
  }
  t.match(platformUrlProblem('https://127.0.0.1/jwks', strict), /loopback/, 'loopback over https: refused unless OUTBOUND_ALLOW_LOOPBACK_HTTP')
  t.match(platformUrlProblem('https://localhost/jwks', strict), /loopback/)
  t.equal(platformUrlProblem('https://127.0.0.1/jwks', loose), null)
})

t.test('Canvas Cloud: its real hosts pass the rule, and allowedHosts *.instructure.com covers a school\'s line items (operator guide)', async t => {
  const { lineitemHosts, jwksHosts } = await import('../../src/launch/lti13/registrations.js')
  const { isHostAllowed } = await import('../../src/http/host-allow-list.js')
  const canvas = {
    issuer: 'https://canvas.instructure.com',
    authLoginUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
    authTokenUrl: 'https://sso.canvaslms.com/login/oauth2/token',
    jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks',
    allowedHosts: ['*.instructure.com']
  }
  for (const u of [canvas.issuer, canvas.authLoginUrl, canvas.authTokenUrl, canvas.jwksUrl]) t.equal(platformUrlProblem(u, strict), null, u)
  t.ok(isHostAllowed('school.instructure.com', lineitemHosts(canvas)), 'line items on the school\'s host')
  t.ok(isHostAllowed('sso.canvaslms.com', jwksHosts(canvas)), 'JWKS and token on sso.canvaslms.com')
  t.notOk(isHostAllowed('school.instructure.com.evil.example', lineitemHosts(canvas)))
})
