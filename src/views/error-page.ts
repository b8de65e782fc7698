import { escapeHtml, page } from './html.js'

/** The short page a learner can show to support: what happened, the stable code, a request id. */
export function errorPage (status: number, code: string, message: string, requestId: string): string {
  return page(`Error ${status}`, `<h1>This content could not be opened</h1>
<p>${escapeHtml(message)}</p>
<p>Error code: <code>${escapeHtml(code)}</code><br>Reference: <code>${escapeHtml(requestId)}</code></p>
<p>If this keeps happening, send the code and reference above to your course support team.</p>`)
}
