import { lti11Error } from './errors.js'

/** LTI 1.1 Basic Outcomes (POX) namespace, requests and responses alike (wire-formats.md §3–§4). */
export const IMS_OMS_NAMESPACE = 'http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0'
export const POX_CONTENT_TYPE = 'application/xml'

export type OutcomeOperation = 'replaceResult' | 'readResult' | 'deleteResult'

export interface OutcomeTarget {
  /** Unique per request; echoed by the platform as `imsx_messageRefIdentifier`. */
  messageIdentifier: string
  /** `lis_result_sourcedid` of the launch, opaque. */
  sourcedId: string
}

/**
 * `replaceResultRequest` envelope, byte-for-byte the shape of wire-formats.md Vector D: XML
 * declaration, no whitespace between elements, no trailing newline. Sign the exact returned string
 * (its UTF-8 bytes) with `oauth_body_hash`.
 */
export function buildReplaceResultRequest (target: OutcomeTarget & { score: number, language?: string }): string {
  const score = formatOutcomeScore(target.score)
  const language = target.language ?? 'en'
  const result = `<result><resultScore><language>${xmlText(language, 'language')}</language><textString>${score}</textString></resultScore></result>`
  return envelope('replaceResult', target, result)
}

/** `readResultRequest`: the same envelope with only the sourcedId (Open edX answers `unsupported`). */
export function buildReadResultRequest (target: OutcomeTarget): string {
  return envelope('readResult', target, '')
}

/** `deleteResultRequest`: the same envelope with only the sourcedId (Open edX answers `unsupported`). */
export function buildDeleteResultRequest (target: OutcomeTarget): string {
  return envelope('deleteResult', target, '')
}

/**
 * A score in [0, 1] as a plain decimal string: never exponent notation (`String(1e-7)` is `1e-7`,
 * which strict platforms refuse), at most 10 decimals, at least one (`0.0`, `1.0`, `0.85`).
 */
export function formatOutcomeScore (score: number): string {
  if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) {
    throw lti11Error('LTI11_BAD_OUTCOME_INPUT', { field: 'score', reason: 'must be a number from 0 to 1' })
  }
  const fixed = score.toFixed(10).replace(/0+$/, '')
  return fixed.endsWith('.') ? fixed + '0' : fixed
}

function envelope (operation: OutcomeOperation, target: OutcomeTarget, resultXml: string): string {
  if (target.messageIdentifier === '') throw lti11Error('LTI11_BAD_OUTCOME_INPUT', { field: 'messageIdentifier', reason: 'empty' })
  if (target.sourcedId === '') throw lti11Error('LTI11_BAD_OUTCOME_INPUT', { field: 'sourcedId', reason: 'empty' })
  return '<?xml version="1.0" encoding="UTF-8"?>' +
    `<imsx_POXEnvelopeRequest xmlns="${IMS_OMS_NAMESPACE}">` +
    '<imsx_POXHeader><imsx_POXRequestHeaderInfo><imsx_version>V1.0</imsx_version>' +
    `<imsx_messageIdentifier>${xmlText(target.messageIdentifier, 'messageIdentifier')}</imsx_messageIdentifier>` +
    '</imsx_POXRequestHeaderInfo></imsx_POXHeader>' +
    `<imsx_POXBody><${operation}Request><resultRecord>` +
    `<sourcedGUID><sourcedId>${xmlText(target.sourcedId, 'sourcedId')}</sourcedId></sourcedGUID>` +
    resultXml +
    `</resultRecord></${operation}Request></imsx_POXBody></imsx_POXEnvelopeRequest>`
}

/**
 * Escapes character data, refusing what XML 1.0 cannot carry at all (control characters, lone
 * surrogates, U+FFFE/U+FFFF): a sourcedId with those came from a broken launch, and sending it
 * escaped-but-invalid would only earn a platform parse error later.
 */
function xmlText (value: string, field: string): string {
  if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
    throw lti11Error('LTI11_BAD_OUTCOME_INPUT', { field, reason: 'characters not allowed in XML' })
  }
  return value.replace(/[&<>"']/g, char => XML_ESCAPES[char] as string)
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' }
