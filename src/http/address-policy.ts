import type { AppError } from '../errors.js'
import { classifyAddress } from './address-classes.js'
import { outboundError } from './errors.js'

/**
 * `platform`: every URL came from a launch, a platform registration or a platform's answers, so it
 * is attacker-influenced; only public unicast addresses over HTTPS.
 * `trusted-lms`: the operator-configured Open edX LMS, typically on the private network beside us
 * (`http://lms:8000`); same timeouts and caps, no address-class refusal, plain HTTP allowed.
 */
export type OutboundMode = 'platform' | 'trusted-lms'

export interface AddressPolicy {
  readonly mode: OutboundMode
  /** OUTBOUND_ALLOW_LOOPBACK_HTTP: loopback allowed, and plain HTTP to loopback (tests, demo). */
  readonly allowLoopbackHttp: boolean
}

/** Unwraps `::ffff:a.b.c.d` as reported by a dual-stack socket; the kernel, not DNS, wrote it. */
export function socketAddress (remote: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remote)
  return m === null ? remote : m[1] as string
}

/**
 * Why this address may not be contacted with this scheme under this policy, or null when it may.
 * Plain HTTP in platform mode is possible only to loopback with the test flag, and that can only
 * be decided once the host is resolved.
 */
export function addressRefusal (address: string, protocol: string, policy: AddressPolicy, host?: string): AppError | null {
  if (policy.mode === 'trusted-lms') return null
  const cls = classifyAddress(address)
  if (cls === 'loopback' && policy.allowLoopbackHttp) return null
  if (cls !== null) return outboundError('HTTP_OUT_ADDRESS_NOT_ALLOWED', { host, address, addressClass: cls })
  if (protocol !== 'https:') return outboundError('HTTP_OUT_SCHEME_NOT_ALLOWED', { host, scheme: 'http', reason: 'http-only-to-loopback', address })
  return null
}
