/** Minimal HTML helpers: every dynamic value goes through `escapeHtml` (the LTI core's one copy). */
import { escapeHtml } from '../lti/v13/html.js'

export { escapeHtml }

export function page (title: string, bodyHtml: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:.1rem .3rem;border-radius:3px}</style>
</head><body>
${bodyHtml}
</body></html>
`
}
