import type { Socket } from 'node:net'
import { buildConnector } from 'undici'
import { addressRefusal, socketAddress, type AddressPolicy } from './address-policy.js'
import { outboundError } from './errors.js'
import { normalizeHost } from './host-allow-list.js'
import { parseIp } from './ip-address.js'
import { dnsFailure, type ResolvedAddress, type Resolver } from './resolver.js'

export interface GuardedConnectorOptions {
  readonly policy: AddressPolicy
  readonly resolver: Resolver
  readonly connectTimeoutMs: number
}

/** At most this many resolved addresses are tried, one after the other, per new connection. */
const MAX_ADDRESS_ATTEMPTS = 3

function connectTo (connector: buildConnector.connector, options: buildConnector.Options): Promise<Socket> {
  return new Promise((resolve, reject) => {
    connector(options, (err, socket) => {
      if (err !== null) reject(err)
      else resolve(socket as Socket)
    })
  })
}

/**
 * An undici connector that resolves the host itself, refuses the connection when any answer is
 * an address the policy forbids, and then connects to exactly the addresses it checked (undici
 * gets the IP, TLS still verifies the certificate against the original host name through SNI /
 * servername). There is no separate "validation lookup" a rebinding DNS server could answer
 * differently. After connecting, the socket's real peer address is checked once more.
 *
 * Every new connection resolves again, so a name whose answers change between connections is
 * judged on the answer actually used.
 */
export function createGuardedConnector (options: GuardedConnectorOptions): buildConnector.connector {
  const { policy, resolver } = options
  const base = buildConnector({ timeout: options.connectTimeoutMs })

  async function resolve (host: string): Promise<readonly ResolvedAddress[]> {
    const literal = parseIp(host)
    if (literal !== null) return [{ address: host, family: literal.family }]
    let answers: readonly ResolvedAddress[]
    try {
      answers = await resolver(host)
    } catch (cause) {
      throw dnsFailure(host, cause)
    }
    if (answers.length === 0) throw outboundError('HTTP_OUT_DNS_FAILED', { host, reason: 'no-addresses', transient: false })
    return answers
  }

  async function connect (opts: buildConnector.Options): Promise<Socket> {
    const host = normalizeHost(opts.hostname)
    const addresses = await resolve(host)
    // One forbidden answer refuses the host: whoever controls DNS also controls the order.
    for (const { address } of addresses) {
      const refusal = addressRefusal(address, opts.protocol, policy, host)
      if (refusal !== null) throw refusal
    }
    let lastError: unknown
    for (const { address } of addresses.slice(0, MAX_ADDRESS_ATTEMPTS)) {
      let socket: Socket
      try {
        // `host` (with the original name) stays as is, so undici derives the TLS servername from it.
        socket = await connectTo(base, { ...opts, hostname: address })
      } catch (err) {
        lastError = err
        continue
      }
      const peer = socketAddress(socket.remoteAddress ?? '')
      const refusal = addressRefusal(peer === '' ? 'unknown' : peer, opts.protocol, policy, host)
      if (refusal !== null) {
        socket.destroy()
        throw refusal
      }
      return socket
    }
    throw lastError
  }

  return (opts, callback) => {
    connect(opts).then(socket => callback(null, socket), (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null))
  }
}
