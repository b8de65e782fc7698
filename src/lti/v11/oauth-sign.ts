import { randomBytes } from 'node:crypto'
import { outgoingBaseUri, signatureBaseString } from './base-string.js'
import { oauthBodyHash } from './body-hash.js'
import { percentEncode } from './percent-encode.js'
import { toParamPairs, type ParamInput, type ParamPair } from './request-params.js'
import { hmacDigest, isSignatureMethod, signingKey, type SignatureMethod } from './signature-methods.js'

export interface SignLti11Input {
  /** Default `POST`. */
  method?: string
  /** Full target URL; its query parameters are signed (RFC 5849), and stay in the URL. */
  url: string
  consumerKey: string
  consumerSecret: string
  /** Form body parameters (a launch). Signed directly; mutually exclusive with `body`. */
  formParams?: ParamInput
  /** Exact non-form body (POX XML): signed through `oauth_body_hash`. */
  body?: string | Uint8Array
  signatureMethod?: SignatureMethod
  /** Default: 16 random bytes, hex. Fixed only in tests. */
  nonce?: string
  /** Seconds since the epoch; default from `now`. */
  timestamp?: number
  now?: Date
  /** `about:blank` for launches, as LTI 1.1 consumers send. */
  callback?: string
  /** Plain OAuth 1.0a only (RFC 5849 vector); LTI 1.1 has no token. */
  token?: { key: string, secret: string }
  /** RFC 5849 makes `oauth_version` optional; LTI sends it. Default true. */
  includeVersion?: boolean
}

export interface SignedLti11Request {
  method: string
  url: string
  /** All `oauth_*` parameters including `oauth_signature`. */
  oauthParams: Record<string, string>
  /** `formParams` followed by the protocol parameters: the body of a signed form POST. */
  formParams: ParamPair[]
  /** `OAuth …` value for the Authorization header (for non-form bodies). */
  authorizationHeader: string
  /** Set when a body was given. */
  bodyHash: string | undefined
}

/**
 * Signs an outgoing LTI 1.1 request (relay launch, Basic Outcomes call): one RFC 5849 base string,
 * built by the same code the verifier uses, and one HMAC over it.
 *
 * Until 2026-11 the `oauth-1.0a` package signed and our base string only cross-checked it, which
 * built the base string three times per signature (10% of a launch). The package stays the
 * independent reference in the tests (test/lti/v11/oauth-sign.test.ts compares both signers over
 * random requests, oauth-vectors.test.ts checks the published vectors); at run time it was also the
 * weaker one (it loses a parameter named `__proto__`), so nothing is lost by signing ourselves.
 */
export function signLti11Request (input: SignLti11Input): SignedLti11Request {
  if (input.formParams !== undefined && input.body !== undefined) throw new TypeError('give either formParams or body, not both')
  const method = (input.method ?? 'POST').toUpperCase()
  const signatureMethod = input.signatureMethod ?? 'HMAC-SHA1'
  if (!isSignatureMethod(signatureMethod)) throw new TypeError(`unsupported signature method ${String(signatureMethod)}`)
  const { baseUri, queryPairs } = outgoingBaseUri(input.url)
  const formPairs = toParamPairs(input.formParams)
  for (const [name] of queryPairs) assertNotProtocol(name)
  for (const [name] of formPairs) assertNotProtocol(name)

  const bodyHash = input.body === undefined ? undefined : oauthBodyHash(input.body)
  const protocol: ParamPair[] = [
    ['oauth_consumer_key', input.consumerKey],
    ['oauth_nonce', input.nonce ?? randomBytes(16).toString('hex')],
    ['oauth_signature_method', signatureMethod],
    ['oauth_timestamp', String(input.timestamp ?? Math.floor((input.now ?? new Date()).getTime() / 1000))]
  ]
  if (input.includeVersion ?? true) protocol.push(['oauth_version', '1.0'])
  if (input.callback !== undefined) protocol.push(['oauth_callback', input.callback])
  if (input.token !== undefined) protocol.push(['oauth_token', input.token.key])
  if (bodyHash !== undefined) protocol.push(['oauth_body_hash', bodyHash])

  const baseString = signatureBaseString(method, baseUri, [...protocol, ...queryPairs, ...formPairs])
  const signature = hmacDigest(signatureMethod, signingKey(input.consumerSecret, input.token?.secret), baseString).toString('base64')
  const oauthPairs: ParamPair[] = [...protocol, ['oauth_signature', signature]]
  return {
    method,
    url: input.url,
    oauthParams: Object.fromEntries(oauthPairs),
    formParams: [...formPairs, ...oauthPairs],
    authorizationHeader: authorizationHeader(oauthPairs),
    bodyHash
  }
}

function assertNotProtocol (name: string): void {
  if (name.startsWith('oauth_')) throw new TypeError(`protocol parameter ${name} must not be passed as a request parameter`)
}

/** RFC 5849 §3.5.1: `OAuth name="value", …`, both encoded; sorted by name, as `oauth-1.0a` writes it. */
function authorizationHeader (oauthPairs: ReadonlyArray<ParamPair>): string {
  const sorted = [...oauthPairs].sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)
  return 'OAuth ' + sorted.map(([name, value]) => `${percentEncode(name)}="${percentEncode(value)}"`).join(', ')
}
