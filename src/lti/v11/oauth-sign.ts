import { createHmac, randomBytes } from 'node:crypto'
import OAuth from 'oauth-1.0a'
import { outgoingBaseUri, signatureBaseString } from './base-string.js'
import { oauthBodyHash } from './body-hash.js'
import { lti11Error } from './errors.js'
import { toParamPairs, type ParamInput, type ParamPair } from './request-params.js'
import { SignatureMethods, type SignatureMethod } from './signature-methods.js'

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
 * Signs an outgoing LTI 1.1 request (relay launch, Basic Outcomes call) with the `oauth-1.0a`
 * package. The package has quirks (it keeps the URL's case and default port, merges repeated names
 * through plain objects, parses the query itself), so we hand it a normalized base URI and every
 * parameter pre-decoded, then rebuild the base string with the same RFC 5849 code the verifier uses
 * and refuse to send anything if the two disagree.
 */
export function signLti11Request (input: SignLti11Input): SignedLti11Request {
  if (input.formParams !== undefined && input.body !== undefined) throw new TypeError('give either formParams or body, not both')
  const method = (input.method ?? 'POST').toUpperCase()
  const signatureMethod = input.signatureMethod ?? 'HMAC-SHA1'
  const { baseUri, queryPairs } = outgoingBaseUri(input.url)
  const formPairs = toParamPairs(input.formParams)
  for (const [name] of [...queryPairs, ...formPairs]) {
    if (name.startsWith('oauth_')) throw new TypeError(`protocol parameter ${name} must not be passed as a request parameter`)
  }

  const bodyHash = input.body === undefined ? undefined : oauthBodyHash(input.body)
  const protocol: Array<[string, string]> = [
    ['oauth_consumer_key', input.consumerKey],
    ['oauth_nonce', input.nonce ?? randomBytes(16).toString('hex')],
    ['oauth_signature_method', signatureMethod],
    ['oauth_timestamp', String(input.timestamp ?? Math.floor((input.now ?? new Date()).getTime() / 1000))]
  ]
  if (input.includeVersion ?? true) protocol.push(['oauth_version', '1.0'])
  if (input.callback !== undefined) protocol.push(['oauth_callback', input.callback])
  if (input.token !== undefined) protocol.push(['oauth_token', input.token.key])
  if (bodyHash !== undefined) protocol.push(['oauth_body_hash', bodyHash])

  const oauth = new OAuth({
    consumer: { key: input.consumerKey, secret: input.consumerSecret },
    signature_method: signatureMethod,
    hash_function: (baseString, key) => createHmac(SignatureMethods[signatureMethod], key).update(baseString, 'utf8').digest('base64')
  })
  // Everything goes into `data` as arrays (the package's one lossless shape for repeated names);
  // `oauth_data` stays empty so the package neither drops `data` (it does when it sees a body hash
  // there) nor mutates objects we keep.
  const request = (): OAuth.RequestOptions => ({ url: baseUri, method, data: groupPairs([...protocol, ...queryPairs, ...formPairs]) })
  const noOAuthData = (): OAuth.Data => ({}) as OAuth.Data
  const ourBaseString = signatureBaseString(method, baseUri, [...protocol, ...queryPairs, ...formPairs])
  const libraryBaseString = oauth.getBaseString(request(), noOAuthData())
  if (libraryBaseString !== ourBaseString) throw lti11Error('LTI11_SIGNING_INCONSISTENT')
  const signature = oauth.getSignature(request(), input.token?.secret, noOAuthData())

  const oauthParams: Record<string, string> = Object.fromEntries([...protocol, ['oauth_signature', signature]])
  return {
    method,
    url: input.url,
    oauthParams,
    formParams: [...formPairs, ...protocol, ['oauth_signature', signature]],
    authorizationHeader: oauth.toHeader(oauthParams as unknown as OAuth.Authorization).Authorization,
    bodyHash
  }
}

/** Repeated names become one array, as `oauth-1.0a` expects. Null prototype: names are data. */
function groupPairs (pairs: ReadonlyArray<ParamPair>): Record<string, string[]> {
  const grouped: Record<string, string[]> = Object.create(null)
  for (const [name, value] of pairs) (grouped[name] ??= []).push(value)
  return grouped
}
