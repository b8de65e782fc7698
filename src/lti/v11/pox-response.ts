import { lti11Error } from './errors.js'
import { parseNamespacedXml, XmlSyntaxError, type XmlElement } from './namespaced-xml.js'
import { IMS_OMS_NAMESPACE } from './outcomes.js'

/** Largest POX response we read (lti-checklist.md §1 #9). A real one is under 2 KB. */
export const MAX_POX_RESPONSE_BYTES = 64 * 1024

/**
 * The pre-1.1 POX namespace. Older platforms answer in it (Moodle 2.x, early Canvas, Stud.IP
 * templates); it is refused unless a caller lists it for a consumer known to need it.
 */
export const LEGACY_POX_NAMESPACE = 'http://www.imsglobal.org/lis/oms1p0/pox'

export interface ParsePoxOptions {
  /** Default 64 KB. */
  maxBytes?: number
  /** Namespaces accepted, compared exactly; default only the LTI 1.1 one. */
  namespaces?: readonly string[]
}

/** What the platform said, read from `imsx_POXEnvelopeResponse` (wire-formats.md §4). */
export interface PoxResponse {
  /** `success` | `processing` | `failure` | `unsupported` as sent (trimmed). */
  codeMajor: string
  severity: string | undefined
  description: string | undefined
  messageIdentifier: string | undefined
  /** Echo of our `imsx_messageIdentifier`; Open edX leaves it empty, so it is not required. */
  messageRefIdentifier: string | undefined
  operationRefIdentifier: string | undefined
  /** Local name of the element inside `imsx_POXBody`, e.g. `replaceResultResponse`. */
  bodyElement: string | undefined
  /** `readResultResponse/result/resultScore/textString`, when present. */
  resultScore: string | undefined
  /** True only when the document holds exactly one `imsx_codeMajor` and it says `success`. */
  success: boolean
}

/**
 * Reads a platform's POX response defensively, in this order: size cap (bytes) → strict UTF-8 →
 * refuse any markup declaration (`<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`…; only comments and CDATA
 * may start with `<!`) → well-formedness → root `imsx_POXEnvelopeResponse` in exactly an accepted
 * namespace (default: the LTI 1.1 one) → exactly one `imsx_codeMajor`, at its place in the header. Each refusal is its own
 * LTI11_OUTCOME_RESPONSE_* code; a well-formed non-success answer is returned, not thrown.
 */
export function parsePoxResponse (body: string | Uint8Array, options: ParsePoxOptions = {}): PoxResponse {
  const maxBytes = options.maxBytes ?? MAX_POX_RESPONSE_BYTES
  const namespaces = options.namespaces ?? [IMS_OMS_NAMESPACE]
  const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength
  if (size > maxBytes) throw lti11Error('LTI11_OUTCOME_RESPONSE_TOO_LARGE', { bytes: size, maxBytes })

  let text: string
  try {
    text = typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body)
  } catch {
    throw malformed('not UTF-8')
  }
  // Leading BOM or blank lines are harmless but make the XML declaration "not first".
  text = text.replace(/^\uFEFF/, '').trimStart()
  if (/<!(?!--|\[CDATA\[)/.test(text)) throw lti11Error('LTI11_OUTCOME_RESPONSE_DOCTYPE')

  let root: XmlElement
  try {
    root = parseNamespacedXml(text)
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw malformed(err.message)
    throw err
  }

  if (root.local !== 'imsx_POXEnvelopeResponse') throw malformed('not an imsx_POXEnvelopeResponse')
  if (root.ns === undefined || !namespaces.includes(root.ns)) {
    throw lti11Error('LTI11_OUTCOME_RESPONSE_BAD_NAMESPACE', { namespace: truncate(root.ns ?? '') })
  }
  const ns = root.ns

  const codeMajors = descendants(root, 'imsx_codeMajor')
  if (codeMajors.length !== 1) throw malformed(codeMajors.length === 0 ? 'no imsx_codeMajor' : 'several imsx_codeMajor')
  const headerInfo = only(only(root, 'imsx_POXHeader', ns), 'imsx_POXResponseHeaderInfo', ns)
  const status = only(headerInfo, 'imsx_statusInfo', ns)
  const codeMajor = only(status, 'imsx_codeMajor', ns)
  if (codeMajor !== codeMajors[0]) throw malformed('imsx_codeMajor outside imsx_statusInfo')

  const poxBody = optional(root, 'imsx_POXBody', ns)
  const operation = poxBody?.children[0]
  const readScore = operation === undefined ? undefined : path(operation, ['result', 'resultScore', 'textString'], ns)
  const major = codeMajor.text.trim()
  return {
    codeMajor: major,
    severity: textOf(optional(status, 'imsx_severity', ns)),
    description: textOf(optional(status, 'imsx_description', ns)),
    messageIdentifier: textOf(optional(headerInfo, 'imsx_messageIdentifier', ns)),
    messageRefIdentifier: textOf(optional(status, 'imsx_messageRefIdentifier', ns)),
    operationRefIdentifier: textOf(optional(status, 'imsx_operationRefIdentifier', ns)),
    bodyElement: operation !== undefined && operation.ns === ns ? operation.local : undefined,
    resultScore: textOf(readScore),
    success: major === 'success'
  }
}

/** Delivered means HTTP 2xx AND a POX `success`: some platforms answer 200 with `failure`. */
export function outcomeDelivered (httpStatus: number, response: PoxResponse): boolean {
  return httpStatus >= 200 && httpStatus < 300 && response.success
}

/**
 * Parses and insists on delivery: throws LTI11_OUTCOME_REJECTED with the HTTP status and, when
 * readable, the POX code and description (platform text, e.g. Open edX's `User not found.`), so
 * the outbox can tell a retryable 5xx from a permanent refusal.
 */
export function requireOutcomeDelivered (httpStatus: number, body: string | Uint8Array, options: ParsePoxOptions = {}): PoxResponse {
  if (httpStatus < 200 || httpStatus >= 300) throw lti11Error('LTI11_OUTCOME_REJECTED', { httpStatus })
  const response = parsePoxResponse(body, options)
  if (!response.success) {
    throw lti11Error('LTI11_OUTCOME_REJECTED', {
      httpStatus,
      codeMajor: truncate(response.codeMajor),
      severity: response.severity === undefined ? undefined : truncate(response.severity),
      description: response.description === undefined ? undefined : truncate(response.description)
    })
  }
  return response
}

/** Children named `local` in exactly the envelope's namespace (a redeclared child does not count). */
function named (element: XmlElement, local: string, ns: string): XmlElement[] {
  return element.children.filter(child => child.local === local && child.ns === ns)
}

function only (element: XmlElement, local: string, ns: string): XmlElement {
  const found = named(element, local, ns)
  if (found.length !== 1) throw malformed(found.length === 0 ? `no ${local}` : `several ${local}`)
  return found[0] as XmlElement
}

function optional (element: XmlElement, local: string, ns: string): XmlElement | undefined {
  const found = named(element, local, ns)
  if (found.length > 1) throw malformed(`several ${local}`)
  return found[0]
}

function path (element: XmlElement, locals: readonly string[], ns: string): XmlElement | undefined {
  let at: XmlElement | undefined = element
  for (const local of locals) at = at === undefined ? undefined : optional(at, local, ns)
  return at
}

/** Every element with this local name, in any namespace: a second codeMajor anywhere is suspicious. */
function descendants (element: XmlElement, local: string): XmlElement[] {
  const found: XmlElement[] = []
  const walk = (el: XmlElement): void => {
    if (el.local === local) found.push(el)
    for (const child of el.children) walk(child)
  }
  walk(element)
  return found
}

function textOf (element: XmlElement | undefined): string | undefined {
  if (element === undefined) return undefined
  const text = element.text.trim()
  return text === '' ? undefined : text
}

function truncate (value: string): string {
  return value.length > 200 ? value.slice(0, 200) + '…' : value
}

function malformed (reason: string) {
  return lti11Error('LTI11_OUTCOME_RESPONSE_MALFORMED', { reason: truncate(reason) })
}
