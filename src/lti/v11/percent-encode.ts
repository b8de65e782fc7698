/**
 * RFC 5849 §3.6 / RFC 3986 percent-encoding: UTF-8 bytes, everything but `A-Z a-z 0-9 - . _ ~`
 * escaped with upper-case hex. `encodeURIComponent` leaves `! ' ( ) *` alone, so those five are
 * escaped afterwards; a space is `%20`, never `+`.
 *
 * Throws `URIError` on a lone surrogate (not representable in UTF-8): callers turn that into
 * their own coded error, because no consumer can have signed such a value.
 */
export function percentEncode (value: string): string {
  // Most names and values (keys, ids, roles, timestamps) need no escaping at all: one regex test
  // instead of an encode and a replace (a launch encodes about 60 strings).
  if (UNRESERVED_ONLY.test(value)) return value
  const encoded = encodeURIComponent(value)
  return SUB_DELIMS.test(encoded) ? encoded.replace(SUB_DELIMS_ALL, escapeReserved) : encoded
}

const UNRESERVED_ONLY = /^[A-Za-z0-9._~-]*$/
const SUB_DELIMS = /[!'()*]/
const SUB_DELIMS_ALL = /[!'()*]/g

function escapeReserved (char: string): string {
  return '%' + char.charCodeAt(0).toString(16).toUpperCase()
}
