// Runs autocannon in its own process (so the load generator does not share the server's event
// loop) and reports the result to the parent over IPC.
//
// Input (argv[2], JSON): { url, connections, maxSeconds, contentType?, body?, requestsFile? }
//  - `body`: the same body on every request (baselines);
//  - `requestsFile`: a JSON array of single-use requests, each a body string or { b: body, c: cookie };
//    the run sends each once and stops when they are used up or after `maxSeconds`, whichever first.
// Output: { requests, ok, seconds, rps, p50, p90, p99, max, errors, non2xx }; `rps` counts 2xx only.
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'

const opts = JSON.parse(process.argv[2])
const requests = opts.requestsFile ? JSON.parse(readFileSync(opts.requestsFile, 'utf8')) : null
let next = 0

const instance = autocannon({
  url: opts.url,
  method: 'POST',
  connections: opts.connections,
  // With single-use requests the run is bounded by their count; without, by time.
  ...(requests ? { amount: requests.length } : { duration: opts.maxSeconds }),
  headers: { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded' },
  requests: [{
    setupRequest (req) {
      if (!requests) {
        req.body = opts.body
        return req
      }
      const item = requests[next++ % requests.length]
      if (typeof item === 'string') {
        req.body = item
      } else {
        req.body = item.b
        req.headers = { ...req.headers, cookie: item.c }
      }
      return req
    }
  }]
}, (err, result) => {
  clearTimeout(timer)
  if (err) {
    console.error(err)
    process.exit(1)
  }
  const ok = result['2xx'] ?? 0
  const seconds = result.duration
  process.send({
    requests: result.requests.total,
    ok,
    seconds: Number(seconds.toFixed(2)),
    rps: Math.round(ok / seconds),
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx
  }, () => process.exit(0))
})
// Single-use requests: also bounded in time (a slow service must not stretch the whole run).
const timer = requests ? setTimeout(() => instance.stop(), opts.maxSeconds * 1000) : undefined
