import type { OutboundClient } from '../../http/outbound-client.js'
import { signLti11Request } from '../../lti/v11/oauth-sign.js'
import { buildReplaceResultRequest, POX_CONTENT_TYPE } from '../../lti/v11/outcomes.js'
import { MAX_POX_RESPONSE_BYTES, requireOutcomeDelivered } from '../../lti/v11/pox-response.js'
import { failureForStatus } from './platform-answer.js'

export interface Lti11OutcomeDelivery {
  /** `lis_outcome_service_url` of the launch; its query stays in the URL and is signed. */
  outcomeUrl: string
  /** `lis_result_sourcedid` of the launch, opaque. */
  sourcedId: string
  consumerKey: string
  consumerSecret: string
  /** The consumer's outcome hosts; empty means any public host (the address guard still applies). */
  allowedHosts: readonly string[]
  /** 0..1, see score-values.ts. */
  score: number
  /** Unique per attempt: the platform echoes it and may use it to spot replays. */
  messageIdentifier: string
  signal?: AbortSignal | undefined
}

export interface Lti11OutcomeResult {
  /** The platform's `imsx_description` (Open edX: "Score for … is now 0.85"). */
  description: string | undefined
}

export interface Lti11OutcomeSender {
  /** Resolves only when the platform answered 2xx with exactly one `imsx_codeMajor` = success; throws a coded error otherwise. */
  send (delivery: Lti11OutcomeDelivery): Promise<Lti11OutcomeResult>
}

/**
 * LTI 1.1 Basic Outcomes `replaceResult` (wire-formats.md §3–§4, lti-checklist.md §1 #8–#10): the
 * exact envelope, OAuth 1.0a HMAC-SHA1 over the outcome URL with `oauth_body_hash` of the very
 * bytes sent, through the hardened outbound client restricted to the consumer's outcome hosts, and
 * a hardened POX parse (no DOCTYPE, 64 KB cap, exact namespace) of the answer.
 */
export function createLti11OutcomeSender (options: { http: OutboundClient, now?: () => number }): Lti11OutcomeSender {
  const now = options.now ?? Date.now
  return {
    async send (delivery) {
      const body = Buffer.from(buildReplaceResultRequest({
        messageIdentifier: delivery.messageIdentifier,
        sourcedId: delivery.sourcedId,
        score: delivery.score
      }), 'utf8')
      const signed = signLti11Request({
        url: delivery.outcomeUrl,
        consumerKey: delivery.consumerKey,
        consumerSecret: delivery.consumerSecret,
        body,
        now: new Date(now())
      })
      const res = await options.http.request({
        url: delivery.outcomeUrl,
        method: 'POST',
        headers: { authorization: signed.authorizationHeader, 'content-type': POX_CONTENT_TYPE, accept: POX_CONTENT_TYPE },
        body,
        allowedHosts: delivery.allowedHosts.length > 0 ? delivery.allowedHosts : undefined,
        // The POX parser's cap, applied while reading: a 10 MB answer is cut off at 64 KB.
        maxBytes: MAX_POX_RESPONSE_BYTES,
        signal: delivery.signal
      })
      if (res.status < 200 || res.status >= 300) throw failureForStatus('outcome', res, now())
      const pox = requireOutcomeDelivered(res.status, res.body)
      return { description: pox.description }
    }
  }
}
