/**
 * HTTP_REQUEST_TIMEOUT_MS over a real socket (the point is the socket, so this file listens):
 * slow-loris clients that trickle their headers, stop half-way, or trickle a launch body are cut
 * off within the configured time (500 ms here; 30 s by default), while other clients are served
 * meanwhile and nothing is stored.
 */
import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, testConfig } from '../helpers/build-app.js'
import { serverOptions } from '../../src/server.js'

const TIMEOUT_MS = 500
/** Generous on a shared 2-core machine, and still far below the 30 s default. */
const CLOSED_WITHIN_MS = 3000
const PATH = '/lti_provider/courses/course-v1:OpenedX+DemoX+Demo_Course/block-v1:OpenedX+DemoX+Demo_Course+type@problem+block@p1'

async function listening (t: Test): Promise<{ app: FastifyInstance, port: number }> {
  const { app } = await buildTestApp(t, { HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

interface Slow { socket: Socket, closed: Promise<{ afterMs: number, received: string }> }

/** Opens a socket, writes `first`, then `drip()` every `everyMs` until the server closes it. */
function slowClient (port: number, first: string, drip?: () => string, everyMs = 100): Slow {
  const socket = connect(port, '127.0.0.1')
  const started = Date.now()
  let received = ''
  let timer: NodeJS.Timeout | undefined
  socket.on('data', chunk => { received += String(chunk) })
  socket.on('error', () => {})
  socket.on('connect', () => {
    socket.write(first)
    if (drip !== undefined) timer = setInterval(() => { if (!socket.destroyed) socket.write(drip()) }, everyMs)
  })
  const closed = new Promise<{ afterMs: number, received: string }>(resolve => {
    socket.on('close', () => { clearInterval(timer); resolve({ afterMs: Date.now() - started, received }) })
  })
  return { socket, closed }
}

function assertCutOff (t: Test, result: { afterMs: number, received: string }, what: string): void {
  t.ok(result.afterMs >= TIMEOUT_MS - 50, `${what}: not before the timeout (${result.afterMs} ms)`)
  t.ok(result.afterMs < CLOSED_WITHIN_MS, `${what}: closed within ${CLOSED_WITHIN_MS} ms (${result.afterMs} ms)`)
  // An answer, when there is one, is the timeout's: never a launch page.
  if (result.received !== '') t.match(result.received, /^HTTP\/1\.1 408 /, `${what}: 408 Request Timeout`)
}

t.test('headers trickled one byte at a time, never finished: the connection is closed', async t => {
  const { port } = await listening(t)
  let i = 0
  const slow = slowClient(port, `POST ${PATH} HTTP/1.1\r\nHost: tool\r\nX-Pad: `, () => String(i++ % 10))
  const result = await slow.closed
  assertCutOff(t, result, 'trickled headers')
  t.ok(i >= 3, `the client kept sending (${i} bytes), so this is not an idle timeout`)
})

t.test('headers stopped half-way: the connection is closed', async t => {
  const { port } = await listening(t)
  assertCutOff(t, await slowClient(port, `GET /health HTTP/1.1\r\nHost: to`).closed, 'half a header')
})

t.test('a launch body trickled after complete headers: closed, nothing stored', async t => {
  const { app, port } = await listening(t)
  const head = `POST ${PATH} HTTP/1.1\r\nHost: tool\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n`
  const result = await slowClient(port, head + 'oauth_consumer_key=a', () => '&x=1').closed
  assertCutOff(t, result, 'trickled body')
  t.equal(Number((await app.knex('oauth_nonces').count({ n: '*' }).first())?.n), 0, 'no nonce stored')
})

t.test('other clients are served while slow clients hold sockets', async t => {
  const { port } = await listening(t)
  const slow = Array.from({ length: 20 }, () => slowClient(port, `GET /health HTTP/1.1\r\nHost: tool\r\nX-A: `, () => 'a'))
  const started = Date.now()
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) })
  t.equal(res.status, 200, `a normal request answered in ${Date.now() - started} ms`)
  const results = await Promise.all(slow.map(async s => await s.closed))
  t.ok(results.every(r => r.afterMs < CLOSED_WITHIN_MS), `all 20 slow clients cut off (slowest ${Math.max(...results.map(r => r.afterMs))} ms)`)
})

t.test('HTTP_REQUEST_TIMEOUT_MS sets every server timeout; the default is 30 s, swept every 3 s', async t => {
  const o = serverOptions(testConfig()) as Record<string, unknown>
  t.same([o.connectionTimeout, o.requestTimeout, o.http], [30000, 30000, { requestTimeout: 30000, headersTimeout: 30000, connectionsCheckingInterval: 3000 }])
  const { app } = await listening(t)
  t.same([app.server.requestTimeout, app.server.headersTimeout, app.server.timeout], [TIMEOUT_MS, TIMEOUT_MS, TIMEOUT_MS])
})
