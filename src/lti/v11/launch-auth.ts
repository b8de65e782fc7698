import { lti11Error } from './errors.js'
import { parseLti11Launch, type Lti11Launch, type ParseLaunchOptions } from './launch-params.js'
import { parseOAuthParams, type Lti11RequestParts } from './oauth-params.js'
import { DEFAULT_TIMESTAMP_WINDOW_SECONDS, verifyLti11Request, type VerifiedLti11Request } from './oauth-verify.js'

/** What the core needs to know about a consumer; the caller's row type may carry more. */
export interface Lti11ConsumerSecret {
  secret: string
  /** Methods besides HMAC-SHA1 it may sign with. */
  signatureMethods?: readonly string[]
  /** Its timestamp window in seconds; default 300. */
  timestampWindowSeconds?: number
}

export interface Lti11NonceRecord {
  consumerKey: string
  nonce: string
  timestamp: number
  /** Keep the row at least this long: twice the window past the later of its timestamp and now. */
  expiresAt: Date
}

/**
 * Records a nonce once. Must be a single atomic insert-or-fail on a unique `(consumer, nonce)` key
 * (never check-then-insert): resolves `true` when inserted, `false` when it already existed.
 */
export type RecordLti11Nonce<C> = (consumer: C, record: Lti11NonceRecord) => Promise<boolean>

export interface AuthenticateLti11LaunchDeps<C extends Lti11ConsumerSecret> {
  publicUrl: string
  /** Looks an ACTIVE consumer up by key; `undefined` when unknown or disabled. Must not write. */
  findConsumer: (consumerKey: string) => Promise<C | undefined>
  recordNonce: RecordLti11Nonce<C>
  now: () => Date
  launchOptions?: ParseLaunchOptions
}

export interface AuthenticatedLti11Launch<C> {
  consumer: C
  verified: VerifiedLti11Request
  launch: Lti11Launch
}

/**
 * The whole LTI 1.1 launch check, in a fixed order, each step throwing its own code:
 * protocol parameters → consumer by key (LTI11_UNKNOWN_CONSUMER) → signature, method and clock →
 * launch parameters → nonce recorded (LTI11_NONCE_REPLAYED). Nothing is written before the
 * signature holds, so an unsigned request cannot change stored state (lti-checklist.md §1 #6);
 * the caller records the instance GUID only after this returns.
 */
export async function authenticateLti11Launch<C extends Lti11ConsumerSecret> (
  request: Lti11RequestParts & { method: string },
  deps: AuthenticateLti11LaunchDeps<C>
): Promise<AuthenticatedLti11Launch<C>> {
  const { consumerKey } = parseOAuthParams(request)
  const consumer = await deps.findConsumer(consumerKey)
  if (consumer === undefined) throw lti11Error('LTI11_UNKNOWN_CONSUMER')

  const now = deps.now()
  const windowSeconds = consumer.timestampWindowSeconds ?? DEFAULT_TIMESTAMP_WINDOW_SECONDS
  const verified = verifyLti11Request({
    ...request,
    publicUrl: deps.publicUrl,
    consumerSecret: consumer.secret,
    allowedMethods: consumer.signatureMethods ?? [],
    windowSeconds,
    now
  })
  const launch = parseLti11Launch(request.body ?? [], deps.launchOptions)

  const inserted = await deps.recordNonce(consumer, {
    consumerKey: verified.consumerKey,
    nonce: verified.nonce,
    timestamp: verified.timestamp,
    expiresAt: nonceExpiresAt(verified.timestamp, now, windowSeconds)
  })
  if (!inserted) throw lti11Error('LTI11_NONCE_REPLAYED')
  return { consumer, verified, launch }
}

/**
 * A nonce must outlive every moment its timestamp is still accepted (timestamp + window on our
 * clock); twice the window past the later of the two is the margin lti-checklist.md §1 #4 asks for.
 */
export function nonceExpiresAt (timestamp: number, now: Date, windowSeconds: number): Date {
  const from = Math.max(timestamp * 1000, now.getTime())
  return new Date(from + 2 * windowSeconds * 1000)
}
