/**
 * Strict parsing of textual IP addresses into bytes, so address classes are decided on numbers and
 * not on string prefixes (`::ffff:7f00:1` and `::ffff:127.0.0.1` are the same address).
 *
 * Only canonical forms are accepted: dotted-decimal IPv4 with four parts and no leading zeros, and
 * RFC 4291 IPv6 text (optionally ending in a dotted quad), without a zone id. Anything looser
 * (`0x7f.1`, `017700000001`, `127.1`, `fe80::1%eth0`) is not an address here: callers refuse it.
 */
export interface IpAddress {
  readonly family: 4 | 6
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  readonly bytes: Uint8Array
}

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/
const HEXTET = /^[0-9a-fA-F]{1,4}$/

export function parseIpv4 (text: string): IpAddress | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string
    if (!DECIMAL_OCTET.test(part)) return null
    const value = Number(part)
    if (value > 255) return null
    bytes[i] = value
  }
  return { family: 4, bytes }
}

function parseHextets (groups: string[]): number[] | null {
  const out: number[] = []
  for (const group of groups) {
    if (!HEXTET.test(group)) return null
    out.push(parseInt(group, 16))
  }
  return out
}

export function parseIpv6 (input: string): IpAddress | null {
  let text = input
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1)
  if (text.length === 0 || text.includes('%')) return null

  // A trailing dotted quad stands for the last two hextets: rewrite it as hex and parse once.
  const lastColon = text.lastIndexOf(':')
  if (lastColon === -1) return null
  const last = text.slice(lastColon + 1)
  if (last.includes('.')) {
    const v4 = parseIpv4(last)
    if (v4 === null) return null
    const [a, b, c, d] = v4.bytes as unknown as [number, number, number, number]
    text = text.slice(0, lastColon + 1) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16)
  }

  const doubleColon = text.indexOf('::')
  if (doubleColon !== text.lastIndexOf('::')) return null
  let hextets: number[]
  if (doubleColon === -1) {
    const groups = parseHextets(text.split(':'))
    if (groups === null || groups.length !== 8) return null
    hextets = groups
  } else {
    const head = text.slice(0, doubleColon)
    const rest = text.slice(doubleColon + 2)
    const headGroups = head === '' ? [] : parseHextets(head.split(':'))
    const restGroups = rest === '' ? [] : parseHextets(rest.split(':'))
    if (headGroups === null || restGroups === null) return null
    const missing = 8 - headGroups.length - restGroups.length
    // `::` must stand for at least one group.
    if (missing < 1) return null
    hextets = [...headGroups, ...new Array<number>(missing).fill(0), ...restGroups]
  }

  const bytes = new Uint8Array(16)
  hextets.forEach((value, i) => {
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  })
  return { family: 6, bytes }
}

/** IPv4 or IPv6 (brackets allowed around IPv6), or null when the text is not a canonical address. */
export function parseIp (text: string): IpAddress | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text)
}
