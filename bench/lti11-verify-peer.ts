/**
 * LTI 1.1 launch verification, ours against a peer that runs here: the npm `ims-lti` provider
 * (omsmith, the package many Node LTI tools use), on the same requests, in the same process.
 *
 *   node --import tsx bench/lti11-verify-peer.ts [--requests 20000] [--full 5000] [--out file]
 *
 * Two comparisons, each on its own set of freshly signed launches (signed by ims-lti's signer, as
 * a consumer would), every request verified once by each side:
 *  - signature only: ims-lti's `build_signature` + string compare (what its provider does) against
 *    our `verifyLti11Request` (protocol parameters, method allow-list, clock window, constant-time
 *    compare of the decoded bytes);
 *  - the whole provider check with an in-memory nonce store: ims-lti `Provider.valid_request`
 *    against our `authenticateLti11Launch` (consumer lookup, signature, launch parameters, nonce).
 *    ims-lti's memory store scans every stored nonce on each call, so this part uses fewer requests.
 */
import { createRequire } from 'node:module'
import { authenticateLti11Launch } from '../src/lti/v11/launch-auth.js'
import { verifyLti11Request } from '../src/lti/v11/oauth-verify.js'
import { signLaunchWithImsLti } from '../test/helpers/ims-lti-signer.js'
import { numberArg, parseArgs } from './support/args.js'
import { emitResult, ratio, round, startPart, type Figure } from './support/result.js'

const args = parseArgs()
const requests = numberArg(args, 'requests', 20_000)
const full = numberArg(args, 'full', 5000)

interface ImsProvider { valid_request: (req: unknown, body: unknown, cb: (err: Error | null, ok: boolean) => void) => void }
interface ImsSigner { build_signature: (req: unknown, body: Record<string, string>, secret: string) => string }
const require = createRequire(import.meta.url)
const ims = require('ims-lti') as { Provider: new (key: string, secret: string) => ImsProvider }
const ImsHmacSha1 = require('ims-lti/lib/hmac-sha1') as new () => ImsSigner

const HOST = 'tool.example.org'
const PUBLIC_URL = `https://${HOST}`
const PATH = '/lti_provider/courses/course-v1:OpenedX+DemoX+Demo_Course/block-v1:OpenedX+DemoX+Demo_Course+type@problem+block@p1'
const LAUNCH = {
  lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: 'learner-1', roles: 'Learner',
  context_id: 'ctx-1', lis_result_sourcedid: 'sid-1', lis_outcome_service_url: 'https://canvas.example.edu/outcomes', lis_person_name_full: 'Ada Lovelace'
}

/** Form bodies decoded as Fastify hands them over (one string per name here). */
function signedBodies (n: number): Array<Record<string, string>> {
  return Array.from({ length: n }, () => Object.fromEntries(new URLSearchParams(signLaunchWithImsLti(PUBLIC_URL + PATH, 'key', 'secret', LAUNCH).body)))
}

const imsRequest = (body: Record<string, string>) => ({ protocol: 'https', headers: { host: HOST }, url: PATH, method: 'POST', body })

function timeSync (fn: (i: number) => boolean, n: number): { perSecond: number, valid: number } {
  let valid = 0
  const started = performance.now()
  for (let i = 0; i < n; i++) if (fn(i)) valid++
  return { perSecond: n / ((performance.now() - started) / 1000), valid }
}

async function timeAsync (fn: (i: number) => Promise<boolean>, n: number): Promise<{ perSecond: number, valid: number }> {
  let valid = 0
  const started = performance.now()
  for (let i = 0; i < n; i++) if (await fn(i)) valid++
  return { perSecond: n / ((performance.now() - started) / 1000), valid }
}

async function main (): Promise<void> {
  const part = startPart('lti11-verify-peer', 'LTI 1.1 verification: ours vs npm ims-lti', `node --import tsx bench/lti11-verify-peer.ts --requests ${requests} --full ${full}`)
  const signer = new ImsHmacSha1()
  const oursVerify = (body: Record<string, string>): boolean => {
    verifyLti11Request({ method: 'POST', rawPath: PATH, body, publicUrl: PUBLIC_URL, consumerSecret: 'secret', now: new Date() })
    return true
  }
  const theirsVerify = (body: Record<string, string>): boolean => signer.build_signature(imsRequest(body), body, 'secret') === body.oauth_signature

  // Warm both up (JIT) on requests of their own.
  const warm = signedBodies(3000)
  for (const body of warm) { oursVerify(body); theirsVerify(body) }

  const set = signedBodies(requests)
  const theirsSig = timeSync(i => theirsVerify(set[i]!), requests)
  const oursSig = timeSync(i => oursVerify(set[i]!), requests)

  const fullSet = signedBodies(full)
  const provider = new ims.Provider('key', 'secret')
  const theirsFull = await timeAsync(async i => await new Promise<boolean>(resolve => {
    const body = fullSet[i]!
    provider.valid_request(imsRequest(body), body, (err, ok) => resolve(err === null && ok))
  }), full)
  const nonces = new Set<string>()
  const consumer = { secret: 'secret', timestampWindowSeconds: 300 }
  const oursFull = await timeAsync(async i => {
    await authenticateLti11Launch({ method: 'POST', rawPath: PATH, body: fullSet[i]! }, {
      publicUrl: PUBLIC_URL,
      now: () => new Date(),
      findConsumer: async key => key === 'key' ? consumer : undefined,
      recordNonce: async (_c, record) => {
        const k = `${record.consumerKey}\u0000${record.nonce}`
        if (nonces.has(k)) return false
        nonces.add(k)
        return true
      }
    })
    return true
  }, full)

  for (const [name, r, n] of [['ims-lti signature', theirsSig, requests], ['our signature', oursSig, requests], ['ims-lti provider', theirsFull, full], ['our launch check', oursFull, full]] as const) {
    if (r.valid !== n) throw new Error(`${name}: only ${r.valid} of ${n} requests verified`)
  }
  const figures: Figure[] = [
    {
      name: `LTI 1.1 signature verification, ours (${requests.toLocaleString('en')} launches)`,
      value: Math.round(oursSig.perSecond),
      unit: 'verifies/s',
      limit: { name: 'npm ims-lti HMAC_SHA1.build_signature + compare, same requests', value: Math.round(theirsSig.perSecond), unit: 'verifies/s' },
      ratio: ratio(oursSig.perSecond, theirsSig.perSecond)
    },
    {
      name: `LTI 1.1 whole launch check with in-memory nonces, ours (${full.toLocaleString('en')} launches)`,
      value: Math.round(oursFull.perSecond),
      unit: 'checks/s',
      limit: { name: 'npm ims-lti Provider.valid_request (MemoryNonceStore), same requests', value: Math.round(theirsFull.perSecond), unit: 'checks/s' },
      ratio: ratio(oursFull.perSecond, theirsFull.perSecond),
      note: "ims-lti's memory store scans all stored nonces on every call: its rate falls as nonces accumulate"
    }
  ]
  emitResult(part.finish(figures, {
    signature: { ours: round(oursSig.perSecond), imsLti: round(theirsSig.perSecond), requests },
    whole: { ours: round(oursFull.perSecond), imsLti: round(theirsFull.perSecond), requests: full }
  }), args.get('out'))
}

main().catch(err => { console.error(err); process.exit(1) })
