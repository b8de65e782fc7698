import type { HeaderValue, KafkaHeaders } from '../decode/open-edx-headers.js'

/** A header value as the dead-letter table keeps it: text when it is UTF-8, else its bytes in base64. */
export type StoredHeaderValue = string | null | { base64: string }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function stored (value: HeaderValue): StoredHeaderValue {
  if (value === null || value === undefined) return null
  if (typeof value === 'string') return value
  try {
    return utf8.decode(value)
  } catch {
    return { base64: Buffer.from(value).toString('base64') }
  }
}

/** JSON-safe copy of a record's headers, repeated names kept as arrays, bytes never lost. */
export function storedHeaders (headers: KafkaHeaders | undefined): Record<string, StoredHeaderValue | StoredHeaderValue[]> {
  const out: Record<string, StoredHeaderValue | StoredHeaderValue[]> = {}
  for (const [name, raw] of Object.entries(headers ?? {})) {
    out[name] = Array.isArray(raw) ? raw.map(v => stored(v as HeaderValue)) : stored(raw as HeaderValue)
  }
  return out
}
