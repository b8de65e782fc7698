/**
 * The security headers of an HTML page, derived from the page itself so no route can forget or
 * mislist them: every inline script and style is allowed by its SHA-256 hash (no 'unsafe-inline',
 * no nonce to thread through the launch code), and `form-action` names where the page's forms go.
 *
 * Why `form-action` lists more than the forms' own origins: browsers (Chromium) also check the
 * redirects that follow a form submission against it.
 *  - A form posting to this tool (the cookie-less launch) may be answered with a redirect to the
 *    LMS (LMS_SESSION_HANDOFF=redirect): the LMS origin is listed.
 *  - A GET form to a platform's OIDC authorization endpoint (the cookie-less login) is redirected
 *    wherever that platform's login takes it (Canvas: sso.canvaslms.com → the school's host), which
 *    nobody can list ahead: such a page allows `https:`.
 *
 * No `frame-ancestors` and no X-Frame-Options: launches live in the platform's iframe, and the
 * framing origins are not knowable per registration (src/launch/lti13-response-headers.ts).
 */
import { createHash } from 'node:crypto'

export interface PageHeaderOptions {
  /** This tool's origin (PUBLIC_URL): forms posting here are 'self'. */
  selfOrigin: string
  /** Where a form posting to this tool may be redirected (the LMS origin), if configured. */
  redirectOrigins: readonly string[]
}

const SCRIPT = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi
const STYLE = /<style\b[^>]*>([\s\S]*?)<\/style\s*>/gi
const FORM = /<form\b([^>]*)>/gi

function attribute (attrs: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, 'i').exec(attrs)
  const raw = match?.[1] ?? match?.[2]
  return raw === undefined ? undefined : unescapeAttribute(raw)
}

function unescapeAttribute (value: string): string {
  return value.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

function hash (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/** A data block (`type="application/json"`) is never executed, so CSP does not need to allow it. */
function isDataBlock (attrs: string): boolean {
  const type = attribute(attrs, 'type')
  return type !== undefined && !/^(text|application)\/(javascript|ecmascript)$|^module$/i.test(type.trim())
}

export function contentSecurityPolicy (html: string, options: PageHeaderOptions): string {
  const scripts = new Set<string>()
  for (const [, attrs = '', body = ''] of html.matchAll(SCRIPT)) if (!isDataBlock(attrs)) scripts.add(hash(body))
  const styles = new Set<string>()
  for (const [, body = ''] of html.matchAll(STYLE)) styles.add(hash(body))
  const targets = new Set<string>()
  for (const [, attrs = ''] of html.matchAll(FORM)) {
    const action = attribute(attrs, 'action') ?? ''
    const method = (attribute(attrs, 'method') ?? 'get').toLowerCase()
    let origin: string
    try {
      origin = new URL(action, options.selfOrigin + '/').origin
    } catch {
      continue
    }
    if (origin === options.selfOrigin) {
      targets.add("'self'")
      for (const o of options.redirectOrigins) targets.add(o)
    } else {
      targets.add(origin)
      if (method === 'get') targets.add('https:')
    }
  }
  return [
    "default-src 'none'",
    `script-src ${scripts.size > 0 ? [...scripts].join(' ') : "'none'"}`,
    `style-src ${styles.size > 0 ? [...styles].join(' ') : "'none'"}`,
    `form-action ${targets.size > 0 ? [...targets].join(' ') : "'none'"}`,
    "base-uri 'none'"
  ].join('; ')
}

/** Headers of every HTML answer: nothing cached (pages carry one-time forms), no Referer, no sniffing, the CSP. */
export function pageSecurityHeaders (html: string, options: PageHeaderOptions): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'content-security-policy': contentSecurityPolicy(html, options)
  }
}
