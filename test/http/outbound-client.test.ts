import { readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { isAppError } from '../../src/errors.js'
import { isTransientOutboundError } from '../../src/http/errors.js'
import { createOutboundClient, type OutboundClientOptions } from '../../src/http/outbound-client.js'
import type { ResolvedAddress, Resolver } from '../../src/http/resolver.js'

/** The part of a tap test these helpers need. */
interface Teardown { teardown (fn: () => unknown): void }

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void

interface Loopback {
  readonly port: number
  readonly requests: Array<{ method: string, url: string, headers: http.IncomingHttpHeaders, body: string }>
}

/** A plain-HTTP server on 127.0.0.1 that records what reached it. */
async function loopbackServer (t: Teardown, handler: Handler): Promise<Loopback> {
  const requests: Loopback['requests'] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', c => chunks.push(c as Buffer))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { port: (server.address() as AddressInfo).port, requests }
}

/** DNS answers from a table; each call of a name takes the next answer (the last one repeats). */
function tableResolver (table: Record<string, Array<readonly ResolvedAddress[]>>): Resolver & { calls: string[] } {
  const calls: string[] = []
  const resolver = async (hostname: string): Promise<readonly ResolvedAddress[]> => {
    calls.push(hostname)
    const answers = table[hostname]
    if (answers === undefined) throw new Error(`unexpected lookup of ${hostname}`)
    const n = calls.filter(h => h === hostname).length - 1
    return answers[Math.min(n, answers.length - 1)] as readonly ResolvedAddress[]
  }
  return Object.assign(resolver, { calls })
}

const v4 = (address: string): ResolvedAddress[] => [{ address, family: 4 }]
const v6 = (address: string): ResolvedAddress[] => [{ address, family: 6 }]

function client (t: Teardown, options: OutboundClientOptions): ReturnType<typeof createOutboundClient> {
  const c = createOutboundClient(options)
  t.teardown(() => c.close())
  return c
}

async function failure (p: Promise<unknown>): Promise<{ code: string, details: Record<string, unknown> }> {
  try {
    await p
  } catch (err) {
    if (isAppError(err)) return { code: err.code, details: err.details ?? {} }
    throw err
  }
  throw new Error('expected the call to fail')
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

t.test('every refused address class, reached through DNS, is refused before any byte is sent', async t => {
  const classes: Array<[string, ResolvedAddress[]]> = [
    ['private', v4('10.0.0.8')],
    ['private', v4('172.20.1.1')],
    ['private', v4('192.168.0.10')],
    ['private', v6('fd12::1')],
    ['loopback', v4('127.0.0.1')],
    ['loopback', v6('::1')],
    ['link-local', v4('169.254.10.10')],
    ['link-local', v6('fe80::1')],
    ['metadata', v4('169.254.169.254')],
    ['metadata', v6('fd00:ec2::254')],
    ['unspecified', v4('0.0.0.0')],
    ['unspecified', v6('::')],
    ['multicast', v4('224.0.0.251')],
    ['multicast', v6('ff02::1')],
    ['cgnat', v4('100.64.0.1')],
    ['ipv4-mapped', v6('::ffff:127.0.0.1')],
    ['ipv4-mapped', v6('::ffff:7f00:1')],
    ['documentation', v4('203.0.113.5')],
    ['reserved', v4('240.0.0.1')],
  ]
  for (const [cls, answer] of classes) {
    const resolver = tableResolver({ 'platform.example.edu': [answer] })
    const c = client(t, { mode: 'platform', resolver })
    const f = await failure(c.request({ url: 'https://platform.example.edu/jwks' }))
    t.equal(f.code, 'HTTP_OUT_ADDRESS_NOT_ALLOWED', `${answer[0]?.address} refused`)
    t.equal(f.details.addressClass, cls, `${answer[0]?.address} is ${cls}`)
    t.same(resolver.calls, ['platform.example.edu'], 'resolved once, by us')
  }
})

t.test('IP literals in URLs are judged without DNS', async t => {
  const resolver = tableResolver({})
  const c = client(t, { mode: 'platform', resolver })
  const cases: Array<[string, string, string | undefined]> = [
    ['https://127.0.0.1/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'loopback'],
    ['https://[::1]/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'loopback'],
    ['https://[::ffff:127.0.0.1]/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'ipv4-mapped'],
    ['https://169.254.169.254/latest/meta-data/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'metadata'],
    ['https://[fd00:ec2::254]/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'metadata'],
    ['https://10.1.1.1/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'private'],
    ['https://100.100.100.200/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'metadata'],
    ['https://0.0.0.0/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', 'unspecified'],
    ['http://2130706433/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', undefined],
    ['https://0x7f.0.0.1/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', undefined],
    ['https://0177.0.0.1/', 'HTTP_OUT_ADDRESS_NOT_ALLOWED', undefined],
  ]
  for (const [url, code, cls] of cases) {
    const f = await failure(c.request({ url }))
    t.equal(f.code, code, url)
    if (cls !== undefined) t.equal(f.details.addressClass, cls, `${url} class`)
    else t.equal(f.details.reason, 'disguised-ip-literal', `${url} disguised`)
  }
  t.same(resolver.calls, [], 'no lookups for literals')
})

t.test('one forbidden answer among public ones refuses the host', async t => {
  const resolver = tableResolver({ 'mixed.example.edu': [[{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.1', family: 4 }]] })
  const c = client(t, { mode: 'platform', resolver })
  const f = await failure(c.request({ url: 'https://mixed.example.edu/' }))
  t.equal(f.code, 'HTTP_OUT_ADDRESS_NOT_ALLOWED')
  t.equal(f.details.address, '10.0.0.1')
})

t.test('plain HTTP to a loopback server: refused by default, allowed only with the test flag', async t => {
  const server = await loopbackServer(t, (_req, res) => res.end('ok'))
  const url = `http://127.0.0.1:${server.port}/hello`

  const strict = client(t, { mode: 'platform' })
  t.equal((await failure(strict.request({ url }))).code, 'HTTP_OUT_SCHEME_NOT_ALLOWED')

  const flagged = client(t, { mode: 'platform', allowLoopbackHttp: true })
  const res = await flagged.request({ url })
  t.equal(res.status, 200)
  t.equal(res.body.toString(), 'ok')
  t.equal(res.url, url)
  t.equal(server.requests.length, 1, 'only the flagged client reached the server')
  t.equal(server.requests[0]?.headers['user-agent'], `openedx-lti-provider/${pkg.version}`)
})

t.test('with the flag, plain HTTP is still refused to anything that is not loopback', async t => {
  const resolver = tableResolver({ 'public.example.edu': [v4('93.184.216.34')], 'lan.example.edu': [v4('192.168.1.4')] })
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true, resolver })
  const pub = await failure(c.request({ url: 'http://public.example.edu/' }))
  t.equal(pub.code, 'HTTP_OUT_SCHEME_NOT_ALLOWED')
  t.equal(pub.details.reason, 'http-only-to-loopback')
  t.equal((await failure(c.request({ url: 'https://lan.example.edu/' }))).code, 'HTTP_OUT_ADDRESS_NOT_ALLOWED')
})

t.test('DNS rebinding: the answer used for the connection is the one checked', async t => {
  const server = await loopbackServer(t, (_req, res) => { res.setHeader('connection', 'close'); res.end('first') })
  // First connection: loopback (allowed by the test flag). Second connection: a private address.
  const resolver = tableResolver({ 'rebind.example.edu': [v4('127.0.0.1'), v4('10.0.0.1')] })
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true, resolver })
  const url = `http://rebind.example.edu:${server.port}/`
  t.equal((await c.request({ url })).body.toString(), 'first')
  const f = await failure(c.request({ url }))
  t.equal(f.code, 'HTTP_OUT_ADDRESS_NOT_ALLOWED')
  t.equal(f.details.address, '10.0.0.1')
  t.same(resolver.calls, ['rebind.example.edu', 'rebind.example.edu'], 'one lookup per connection, no separate pre-check')
  t.equal(server.requests.length, 1)
})

t.test('host allow-list is checked before resolving or connecting', async t => {
  const server = await loopbackServer(t, (_req, res) => res.end('ok'))
  const resolver = tableResolver({ 'lms.test': [v4('127.0.0.1')] })
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true, resolver })
  const f = await failure(c.request({ url: `http://lms.test:${server.port}/`, allowedHosts: ['*.example.edu'] }))
  t.equal(f.code, 'HTTP_OUT_HOST_NOT_ALLOWED')
  t.same(resolver.calls, [])
  t.equal(server.requests.length, 0)
  const ok = await c.request({ url: `http://lms.test:${server.port}/`, allowedHosts: ['lms.test'] })
  t.equal(ok.status, 200)
})

t.test('response size cap', async t => {
  const server = await loopbackServer(t, (req, res) => {
    if (req.url === '/declared') { res.setHeader('content-length', '2048'); res.end('x'.repeat(2048)); return }
    if (req.url === '/chunked') { res.write('x'.repeat(1000)); res.write('x'.repeat(1000)); res.end(); return }
    if (req.url === '/exact') { res.end('x'.repeat(1024)); return }
    if (req.url === '/megabyte-plus-one') { res.write(Buffer.alloc(512 * 1024)); res.end(Buffer.alloc(512 * 1024 + 1)); return }
    res.end(Buffer.alloc(1024 * 1024))
  })
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true })
  const base = `http://127.0.0.1:${server.port}`
  const declared = await failure(c.request({ url: `${base}/declared`, maxBytes: 1024 }))
  t.equal(declared.code, 'HTTP_OUT_TOO_LARGE')
  t.equal(declared.details.declaredBytes, 2048)
  t.equal((await failure(c.request({ url: `${base}/chunked`, maxBytes: 1024 }))).code, 'HTTP_OUT_TOO_LARGE', 'no content-length: cut while streaming')
  t.equal((await c.request({ url: `${base}/exact`, maxBytes: 1024 })).body.length, 1024, 'exactly the cap is fine')
  t.equal((await failure(c.request({ url: `${base}/megabyte-plus-one` }))).code, 'HTTP_OUT_TOO_LARGE', 'default cap is 1 MiB')
  t.equal((await c.request({ url: `${base}/megabyte` })).body.length, 1024 * 1024)
})

t.test('total timeout', async t => {
  const server = await loopbackServer(t, (req, res) => {
    if (req.url === '/slow-body') { res.write('partial'); return } // never ends
    // never answers
  })
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true, timeoutMs: 5000 })
  for (const path of ['/silent', '/slow-body']) {
    const started = Date.now()
    let caught: unknown
    try {
      await c.request({ url: `http://127.0.0.1:${server.port}${path}`, timeoutMs: 150 })
    } catch (err) {
      caught = err
    }
    t.ok(isAppError(caught) && caught.code === 'HTTP_OUT_TIMEOUT', `${path}: HTTP_OUT_TIMEOUT`)
    t.ok(isTransientOutboundError(caught), `${path}: timeouts are transient`)
    t.ok(Date.now() - started < 2000, `${path}: gave up quickly`)
  }
})

t.test('caller cancellation', async t => {
  const server = await loopbackServer(t, () => undefined)
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true })
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 50)
  const f = await failure(c.request({ url: `http://127.0.0.1:${server.port}/`, signal: controller.signal }))
  t.equal(f.code, 'HTTP_OUT_ABORTED')
})

t.test('connection refused is a transient connect failure', async t => {
  const c = client(t, { mode: 'trusted-lms' })
  let caught: unknown
  try {
    await c.request({ url: 'http://127.0.0.1:1/' }) // nothing listens on port 1 here
  } catch (err) {
    caught = err
  }
  t.ok(isAppError(caught) && caught.code === 'HTTP_OUT_CONNECT_FAILED', 'HTTP_OUT_CONNECT_FAILED')
  t.ok(isTransientOutboundError(caught))
})

t.test('redirects', async t => {
  const server = await loopbackServer(t, (req, res) => {
    const m = /^\/hop\/(\d+)$/.exec(req.url ?? '')
    if (m !== null) {
      const n = Number(m[1])
      res.statusCode = 302
      res.setHeader('location', n === 0 ? '/done' : `/hop/${n - 1}`)
      res.end()
      return
    }
    if (req.url === '/cross-host') { res.statusCode = 302; res.setHeader('location', `http://localhost:${(req.socket.localPort)}/done`); res.end(); return }
    if (req.url === '/see-other') { res.statusCode = 303; res.setHeader('location', '/done'); res.end(); return }
    if (req.url === '/temporary') { res.statusCode = 307; res.setHeader('location', '/done'); res.end(); return }
    res.end(`${req.method} ${req.url}`)
  })
  const base = `http://127.0.0.1:${server.port}`
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true })

  const three = await c.request({ url: `${base}/hop/2` })
  t.equal(three.body.toString(), 'GET /done', 'three same-origin redirects are followed')
  t.equal(three.url, `${base}/done`)

  const four = await failure(c.request({ url: `${base}/hop/3` }))
  t.equal(four.code, 'HTTP_OUT_REDIRECT_REFUSED')
  t.equal(four.details.reason, 'too-many')

  const cross = await failure(c.request({ url: `${base}/cross-host` }))
  t.equal(cross.code, 'HTTP_OUT_REDIRECT_REFUSED')
  t.equal(cross.details.reason, 'cross-origin')
  t.equal(cross.details.toHost, 'localhost')
  t.notOk(server.requests.some(r => r.headers.host?.startsWith('localhost')), 'the other host was never contacted')

  const seeOther = await c.request({ url: `${base}/see-other`, method: 'POST', body: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(seeOther.body.toString(), 'GET /done', '303 continues as GET')
  t.equal(server.requests.at(-1)?.body, '', 'without the body')

  const temporary = await c.request({ url: `${base}/temporary`, method: 'POST', body: 'a=1' })
  t.equal(temporary.body.toString(), 'POST /done', '307 keeps the method')
  t.equal(server.requests.at(-1)?.body, 'a=1', 'and the body')

  const manual = await c.request({ url: `${base}/hop/0`, followRedirects: false })
  t.equal(manual.status, 302, 'followRedirects: false hands the 3xx back')
  t.equal(manual.headers.location, '/done')
})

t.test('a redirect to a same-host address is re-checked by the allow-list', async t => {
  const server = await loopbackServer(t, (req, res) => {
    if (req.url === '/go') { res.statusCode = 301; res.setHeader('location', '/elsewhere'); res.end(); return }
    res.end('fine')
  })
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true })
  const r = await c.request({ url: `http://127.0.0.1:${server.port}/go`, allowedHosts: ['127.0.0.1'] })
  t.equal(r.body.toString(), 'fine')
})

t.test('headers the client owns cannot be overridden', async t => {
  const server = await loopbackServer(t, (_req, res) => res.end())
  const c = client(t, { mode: 'platform', allowLoopbackHttp: true, userAgent: 'openedx-lti-provider/9.9.9' })
  await c.request({ url: `http://127.0.0.1:${server.port}/`, headers: { Host: 'internal.example', 'User-Agent': 'curl/8', Accept: 'application/json' } })
  const seen = server.requests[0]?.headers
  t.equal(seen?.host, `127.0.0.1:${server.port}`)
  t.equal(seen?.['user-agent'], 'openedx-lti-provider/9.9.9')
  t.equal(seen?.accept, 'application/json')
})

t.test('trusted-lms mode: private addresses and plain HTTP, same caps', async t => {
  const server = await loopbackServer(t, (_req, res) => res.end('x'.repeat(100)))
  const resolver = tableResolver({ lms: [v4('127.0.0.1')] })
  const c = client(t, { mode: 'trusted-lms', resolver, maxBytes: 50 })
  t.equal(c.mode, 'trusted-lms')
  t.equal((await failure(c.request({ url: `http://lms:${server.port}/` }))).code, 'HTTP_OUT_TOO_LARGE')
  const ok = await c.request({ url: `http://lms:${server.port}/`, maxBytes: 100 })
  t.equal(ok.status, 200)
  t.equal((await failure(c.request({ url: 'ftp://lms/' }))).code, 'HTTP_OUT_SCHEME_NOT_ALLOWED')
})

t.test('DNS answers: none, and the system resolver', async t => {
  const c = client(t, { mode: 'platform', resolver: async () => [] })
  const f = await failure(c.request({ url: 'https://nothing.example.edu/' }))
  t.equal(f.code, 'HTTP_OUT_DNS_FAILED')
  t.equal(f.details.reason, 'no-addresses')
  const nx = client(t, { mode: 'platform', resolver: async () => { throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) } })
  const notFound = await failure(nx.request({ url: 'https://gone.example.edu/' }))
  t.equal(notFound.code, 'HTTP_OUT_DNS_FAILED')
  t.match(notFound.details, { host: 'gone.example.edu', dnsCode: 'ENOTFOUND', transient: false })
  const flaky = client(t, { mode: 'platform', resolver: async () => { throw Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }) } })
  let caught: unknown
  try { await flaky.request({ url: 'https://flaky.example.edu/' }) } catch (err) { caught = err }
  t.ok(isTransientOutboundError(caught), 'EAI_AGAIN is worth retrying')
  // The system resolver (getaddrinfo, /etc/hosts first): `localhost` is loopback and refused.
  const system = client(t, { mode: 'platform' })
  const local = await failure(system.request({ url: 'https://localhost/' }))
  t.equal(local.code, 'HTTP_OUT_ADDRESS_NOT_ALLOWED')
  t.equal(local.details.addressClass, 'loopback')
})
