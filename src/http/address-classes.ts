import { parseIp } from './ip-address.js'

/**
 * Address classes the platform-mode client refuses to contact, and why each exists: a URL from a
 * launch or a platform must not make us reach our own host, our private network, a cloud metadata
 * service or anything that is not a routable public unicast address.
 */
export type AddressClass =
  | 'unspecified' // 0.0.0.0/8, :: (connecting to it reaches the local host on most systems)
  | 'loopback' // 127/8, ::1
  | 'private' // RFC 1918, fc00::/7 unique-local, fec0::/10 site-local, NAT64 local-use
  | 'link-local' // 169.254/16, fe80::/10
  | 'metadata' // cloud instance metadata endpoints (credentials live there)
  | 'cgnat' // 100.64/10 shared address space: provider-internal
  | 'multicast' // 224/4, ff00::/8
  | 'documentation' // TEST-NETs, 2001:db8::/32, 3fff::/20: never legitimately routed
  | 'reserved' // 240/4 + broadcast, benchmarking, IETF protocol space, discard, Teredo
  | 'ipv4-mapped' // ::ffff:0:0/96: an IPv4 destination dressed as IPv6, never a real AAAA answer
  | 'invalid' // not a canonical address at all

interface Range {
  readonly bytes: Uint8Array
  readonly prefix: number
  readonly cls: AddressClass
}

function range (cidr: string, cls: AddressClass): Range {
  const [address, prefix] = cidr.split('/') as [string, string]
  const parsed = parseIp(address)
  /* c8 ignore next -- the tables below are constants; a typo fails at module load */
  if (parsed === null) throw new Error(`bad range ${cidr}`)
  return { bytes: parsed.bytes, prefix: Number(prefix), cls }
}

// Order matters: the first match wins, so specific entries (metadata) precede their enclosing ranges.
const IPV4_RANGES: readonly Range[] = [
  range('169.254.169.254/32', 'metadata'), // AWS, GCP, Azure, OpenStack, DigitalOcean
  range('168.63.129.16/32', 'metadata'), // Azure wire server (a public address that answers only inside Azure)
  range('100.100.100.200/32', 'metadata'), // Alibaba Cloud
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('100.64.0.0/10', 'cgnat'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('172.16.0.0/12', 'private'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'documentation'),
  range('192.88.99.0/24', 'reserved'),
  range('192.168.0.0/16', 'private'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'documentation'),
  range('203.0.113.0/24', 'documentation'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'),
]

const IPV6_RANGES: readonly Range[] = [
  range('fd00:ec2::254/128', 'metadata'), // AWS IMDS over IPv6
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::ffff:0:0/96', 'ipv4-mapped'),
  range('::/96', 'reserved'), // deprecated IPv4-compatible addresses
  range('64:ff9b:1::/48', 'private'), // NAT64 local-use prefix
  range('100::/64', 'reserved'), // discard-only
  range('2001::/23', 'reserved'), // IETF protocol assignments: Teredo (IPv4 endpoint hidden inside), ORCHID, benchmarking
  range('2001:db8::/32', 'documentation'),
  range('3fff::/20', 'documentation'),
  range('fc00::/7', 'private'),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'private'),
  range('ff00::/8', 'multicast'),
]

function inRange (bytes: Uint8Array, r: Range): boolean {
  let bits = r.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((bytes[i] as number) & mask) !== ((r.bytes[i] as number) & mask)) return false
  }
  return true
}

function classifyIpv4 (bytes: Uint8Array): AddressClass | null {
  return IPV4_RANGES.find(r => inRange(bytes, r))?.cls ?? null
}

/**
 * IPv6 prefixes that carry an IPv4 address the packets really go to (NAT64 well-known prefix,
 * 6to4): the embedded address decides.
 */
const NAT64_WELL_KNOWN = range('64:ff9b::/96', 'reserved')
const SIX_TO_FOUR = range('2002::/16', 'reserved')
const GLOBAL_UNICAST = range('2000::/3', 'reserved')

function embeddedIpv4 (bytes: Uint8Array): Uint8Array | null {
  if (inRange(bytes, NAT64_WELL_KNOWN)) return bytes.subarray(12, 16)
  if (inRange(bytes, SIX_TO_FOUR)) return bytes.subarray(2, 6)
  return null
}

/**
 * The class that makes an address unfit for platform URLs, or null for a public unicast address.
 * Accepts canonical text only (see ip-address.ts); anything else is `invalid`.
 */
export function classifyAddress (text: string): AddressClass | null {
  const ip = parseIp(text)
  if (ip === null) return 'invalid'
  if (ip.family === 4) return classifyIpv4(ip.bytes)
  const direct = IPV6_RANGES.find(r => inRange(ip.bytes, r))?.cls ?? null
  if (direct !== null) return direct
  const embedded = embeddedIpv4(ip.bytes)
  if (embedded !== null) return classifyIpv4(embedded)
  // Outside 2000::/3 nothing is assigned for public unicast: refuse rather than guess.
  return inRange(ip.bytes, GLOBAL_UNICAST) ? null : 'reserved'
}
