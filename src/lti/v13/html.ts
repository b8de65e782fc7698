/** Text and attribute escaping for the few HTML pages the LTI core renders. */
export function escapeHtml (value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/**
 * JSON safe to embed in a `<script type="application/json">` element: `<`, `>` and `&` become
 * \u escapes so no value can close the element or open a comment, and U+2028/2029 are escaped
 * for older JavaScript parsers.
 */
export function jsonForScript (value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

/** Hidden inputs for a form, escaped; pairs keep order and allow a repeated name. */
export function hiddenFields (fields: Record<string, string> | ReadonlyArray<readonly [string, string]>): string {
  const pairs = Array.isArray(fields) ? fields : Object.entries(fields)
  return pairs
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n')
}
