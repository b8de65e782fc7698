/**
 * LTI 1.3 launch (state + id_token + database) for a returning learner, side by side with the bare
 * RS256 signature verification rate in this same process: jose `compactVerify` (what the launch
 * uses, 32 in flight) and `node:crypto` `verify` (synchronous, one core).
 *
 *   node --import tsx bench/lti13-launch.ts [--count 8000] [--seconds 10] [--connections 32]
 *       [--profile dir] [--out file]
 *
 * Each login state is single use, so the launches are prepared first: `--count` logins through
 * /lti/1.3/login (each saves a state and sets its binding cookie), and for each the fake platform
 * mints an id_token carrying that login's nonce, as its auth endpoint would. autocannon then posts
 * each (id_token, state, cookie) once. The launch carries an AGS claim, so each one also upserts
 * the learner's graded resource, as with a real platform.
 */
import { createPublicKey, verify as cryptoVerify, type JsonWebKey } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { compactVerify, importJWK, type JWK } from 'jose'
import { loadConfig } from '../src/config.js'
import { buildServer } from '../src/server.js'
import { contentTargetLinkUri } from '../src/lti/v13/tool-urls.js'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../test/support/fake-lms.js'
import { startFakeLti13Platform, type FakeLaunch } from '../test/support/fake-lti13-platform.js'
import { numberArg, parseArgs } from './support/args.js'
import { openBenchDb } from './support/bench-db.js'
import { freePort } from './support/free-port.js'
import { runLoad, type OneRequest } from './support/load.js'
import { createWindowProfiler } from './support/profiler.js'
import { emitResult, ratio, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const count = numberArg(args, 'count', 8000)
const seconds = numberArg(args, 'seconds', 10)
const connections = numberArg(args, 'connections', 32)
const profiler = createWindowProfiler('lti13-launch', args.get('profile'))
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefghijklmnop'

/** Runs `fn` over `items` with at most `width` in flight. */
async function pool<T, R> (items: readonly T[], width: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!, i)
    }
  }))
  return out
}

/** Operations per second of `op` with `width` in flight, for about `ms`. */
async function rate (ms: number, width: number, op: (i: number) => Promise<void> | void): Promise<number> {
  const end = performance.now() + ms
  let done = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: width }, async () => {
    while (performance.now() < end) await op(done++)
  }))
  return done / ((performance.now() - started) / 1000)
}

async function main (): Promise<void> {
  const part = startPart('lti13-launch', 'LTI 1.3 launch, returning learner',
    `node --import tsx bench/lti13-launch.ts --count ${count} --seconds ${seconds} --connections ${connections}`)
  const COURSE = DEMO_COURSE_ID
  const PROBLEM = usageKey(COURSE, 'problem', 'p1')
  const port = await freePort()
  const publicUrl = `http://127.0.0.1:${port}`
  const lms = await startFakeLms({ ltiConsumers: [{ key: 'relay', secret: 'relay-secret', usePii: true }] })
  const platform = await startFakeLti13Platform({ redirectUris: [`${publicUrl}/lti/1.3/launch`] })
  const db = await openBenchDb('sqlite')
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), PUBLIC_URL: publicUrl, DATABASE_URL: db.url, ADMIN_TOKEN,
    LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: 'relay', LMS_RELAY_CONSUMER_SECRET: 'relay-secret', OUTBOUND_ALLOW_LOOPBACK_HTTP: 'true',
    // Benchmarks drive thousands of launches per second from one address: the abuse limits (RATE_LIMIT_*) would measure 429s.
    RATE_LIMIT_ENABLED: 'false'
  }, { envFile: false })
  const app = await buildServer(config)
  try {
    await app.listen({ port, host: '127.0.0.1' })
    const reg = await fetch(`${publicUrl}/admin/api/v1/lti13/registrations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'bench platform', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
        authTokenUrl: platform.tokenUrl, jwksUrl: platform.jwksUrl, deploymentIds: [platform.deploymentId], contentScope: ['course-v1:OpenedX+*']
      })
    })
    if (reg.status !== 201) throw new Error(`registration refused: ${reg.status} ${await reg.text()}`)
    const launch: FakeLaunch = { userId: 'returning-learner-13', targetLinkUri: contentTargetLinkUri(publicUrl, COURSE, PROBLEM) }

    /** One login: the state (in our DB), its nonce (in the auth request) and its binding cookie. */
    const login = async (): Promise<{ state: string, nonce: string, cookie: string }> => {
      const res = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(launch)).toString()}` })
      const location = res.headers.location
      if (res.statusCode !== 302 || typeof location !== 'string') throw new Error(`login refused: ${res.statusCode} ${res.body}`)
      const auth = new URL(location)
      const setCookie = res.headers['set-cookie']
      const cookie = ((Array.isArray(setCookie) ? setCookie[0] : setCookie) ?? '').split(';')[0] ?? ''
      return { state: auth.searchParams.get('state') ?? '', nonce: auth.searchParams.get('nonce') ?? '', cookie }
    }
    const prepare = async (n: number): Promise<Array<{ b: string, c: string, token: string }>> => {
      const logins = []
      for (let i = 0; i < n; i++) logins.push(await login())
      // RS256 signing runs on the libuv thread pool (WebCrypto): a few in flight use both cores.
      return await pool(logins, 16, async l => {
        const token = await platform.mintIdToken({ launch, nonce: l.nonce })
        return { b: new URLSearchParams({ id_token: token, state: l.state }).toString(), c: l.cookie, token }
      })
    }

    // The first launch creates the LMS account and the profile: the measured ones are returning.
    const [first] = await prepare(1)
    const res = await fetch(`${publicUrl}/lti/1.3/launch`, { method: 'POST', body: first!.b, headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: first!.c } })
    const page = await res.text()
    if (res.status !== 200 || !page.includes(lms.url)) throw new Error(`first launch failed: ${res.status} ${page.slice(0, 300)}`)

    const prepStarted = Date.now()
    const warm = await prepare(1000)
    const launches = await prepare(count)
    const prepSeconds = (Date.now() - prepStarted) / 1000

    // Bare verification of the same tokens with the platform's key, in this process.
    const jwk = ((await (await fetch(platform.jwksUrl)).json()) as { keys: JWK[] }).keys[0]!
    const joseKey = await importJWK(jwk, 'RS256')
    const nodeKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
    const tokens = launches.slice(0, 2000).map(l => l.token)
    const parts = tokens.map(t => {
      const [h, p, s] = t.split('.') as [string, string, string]
      return { data: Buffer.from(`${h}.${p}`), sig: Buffer.from(s, 'base64url') }
    })
    await rate(300, 32, async i => { await compactVerify(tokens[i % tokens.length]!, joseKey, { algorithms: ['RS256'] }) })
    const joseRate = await rate(2500, 32, async i => { await compactVerify(tokens[i % tokens.length]!, joseKey, { algorithms: ['RS256'] }) })
    const nodeRate = await rate(2500, 1, i => {
      const p = parts[i % parts.length]!
      if (!cryptoVerify('RSA-SHA256', p.data, nodeKey, p.sig)) throw new Error('node:crypto refused a platform signature')
    })

    const url = `${publicUrl}/lti/1.3/launch`
    const strip = (l: { b: string, c: string }): OneRequest => ({ b: l.b, c: l.c })
    await runLoad({ url, connections, maxSeconds: 3, requests: warm.map(strip) })
    const result = await profiler.run('launch', async () => await runLoad({ url, connections, maxSeconds: seconds, requests: launches.map(strip) }))
    if (result.non2xx > 0 || result.errors > 0) process.stderr.write(`lti13-launch: ${result.non2xx} non-2xx, ${result.errors} errors\n`)

    const extra = `p50 ${result.p50} ms, p99 ${result.p99} ms at ${connections} conn.${result.non2xx + result.errors > 0 ? `; ${result.non2xx} non-2xx, ${result.errors} errors` : ''}`
    const figures: Figure[] = [
      {
        name: 'LTI 1.3 launch, returning learner, SQLite (state + id_token + DB)',
        value: result.rps,
        unit: 'launches/s',
        extra,
        limit: { name: 'jose compactVerify RS256, 32 in flight, same process', value: Math.round(joseRate), unit: 'verifies/s' },
        ratio: ratio(result.rps, joseRate),
        target: '≥ 4,000/s',
        met: result.rps >= 4000
      },
      {
        name: 'LTI 1.3 launch (same run) vs node:crypto',
        value: result.rps,
        unit: 'launches/s',
        limit: { name: 'node:crypto verify RSA-SHA256, synchronous, one core', value: Math.round(nodeRate), unit: 'verifies/s' },
        ratio: ratio(result.rps, nodeRate)
      }
    ]
    emitResult(part.finish(figures, { result, joseVerifiesPerSecond: round(joseRate), nodeCryptoVerifiesPerSecond: round(nodeRate), preparedLaunches: count, preparationSeconds: round(prepSeconds, 1) }), args.get('out'))
  } finally {
    await sleep(500)
    await app.close()
    await platform.close()
    await lms.close()
    await db.drop()
  }
}

main().catch(err => { console.error(err); process.exit(1) })
