// Runs autocannon in its own process (so the load generator does not share the server's event
// loop) and reports { requests, rps, p50, p99, errors, non2xx } to the parent over IPC.
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const { url, seconds, connections, bodiesFile, body } = JSON.parse(process.argv[2])
const bodies = bodiesFile ? JSON.parse(readFileSync(bodiesFile, 'utf8')) : null
let next = 0

const result = await autocannon({
  url,
  method: 'POST',
  connections,
  duration: seconds,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  requests: [{
    setupRequest (req) {
      // One pre-signed body per request: each nonce is used once.
      req.body = bodies ? bodies[next++ % bodies.length] : body
      return req
    }
  }]
})
process.send({
  requests: result.requests.total,
  rps: Math.round(result.requests.average),
  p50: result.latency.p50,
  p99: result.latency.p99,
  errors: result.errors + result.timeouts,
  non2xx: result.non2xx
}, () => process.exit(0))
