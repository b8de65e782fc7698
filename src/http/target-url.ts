import { outboundError } from './errors.js'
import { normalizeHost } from './host-allow-list.js'
import { parseIpv4 } from './ip-address.js'

export interface TargetUrl {
  readonly url: URL
  /** Lower-case host without brackets or trailing dot; what DNS and allow-lists see. */
  readonly host: string
}

/**
 * The host exactly as written in the URL text, before WHATWG normalisation. The WHATWG parser
 * turns `2130706433`, `0x7f.1` and `017700000001` into `127.0.0.1`; we compare against the raw
 * text to notice that someone wrote an address in a disguised form.
 */
function rawHost (text: string): string | null {
  const match = /^[a-z][a-z0-9+.-]*:[\\/]{2}([^\\/?#]*)/i.exec(text.trim())
  if (match === null) return null
  const authority = match[1] as string
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1)
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1)
  const colon = hostPort.lastIndexOf(':')
  return colon === -1 ? hostPort : hostPort.slice(0, colon)
}

/**
 * Parses an outbound URL and refuses what no caller should ever need: other schemes than
 * http(s), credentials in the URL, and (when `refuseDisguisedIpv4`) IPv4 literals written in
 * decimal, octal, hex or short forms. Scheme policy per mode is applied by the client.
 */
export function parseTargetUrl (text: string, refuseDisguisedIpv4: boolean): TargetUrl {
  let url: URL
  try {
    url = new URL(text)
  } catch (cause) {
    throw outboundError('HTTP_OUT_URL_INVALID', { reason: 'unparsable' }, { cause })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw outboundError('HTTP_OUT_SCHEME_NOT_ALLOWED', { scheme: url.protocol.replace(/:$/, '') })
  }
  if (url.username !== '' || url.password !== '') {
    // Credentials in URLs end up in logs and proxies; no platform contract needs them.
    throw outboundError('HTTP_OUT_URL_INVALID', { reason: 'credentials-in-url', host: url.hostname })
  }
  const host = normalizeHost(url.hostname)
  if (host.length === 0) throw outboundError('HTTP_OUT_URL_INVALID', { reason: 'no-host' })
  if (refuseDisguisedIpv4 && parseIpv4(host) !== null) {
    const written = rawHost(text)
    if (written === null || normalizeHost(written) !== host) {
      throw outboundError('HTTP_OUT_ADDRESS_NOT_ALLOWED', { reason: 'disguised-ip-literal', host })
    }
  }
  return { url, host }
}
