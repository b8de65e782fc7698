import { escapeHtml } from '../html.js'

/**
 * The picker's page frame. Styles and scripts carry the page's CSP nonce (no inline handlers, no
 * CDN): the CSP allows nothing else. Focus is always visible; the skip link leads to the content.
 */
export function pickerPage (opts: { title: string, nonce: string, body: string, script?: string }): string {
  const nonce = escapeHtml(opts.nonce)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;margin:0;padding:1rem 1.25rem;color:#1d1d1d;line-height:1.4}
h1{font-size:1.35rem;margin:.2rem 0 .6rem}
a.skip{position:absolute;left:-999px}a.skip:focus{left:1rem;top:.5rem;background:#fff;padding:.3rem}
:focus-visible{outline:3px solid #0a58ca;outline-offset:2px}
.bar{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.6rem 0}
button{font:inherit;padding:.35rem .9rem;border:1px solid #555;border-radius:4px;background:#f4f4f4;cursor:pointer}
button.primary{background:#0a58ca;border-color:#0a58ca;color:#fff}
ul.outline,ul.outline ul{list-style:none;margin:0;padding-left:1.2rem}
ul.outline{padding-left:0}
ul.outline li{margin:.15rem 0}
.meta{color:#555;font-size:.85em;margin-left:.35rem}
.graded{color:#7a4b00;font-weight:600}
.kind{font-weight:600}
ul.courses{list-style:none;padding:0}
ul.courses li{margin:.3rem 0}
.note{background:#fff8e1;border-left:4px solid #e0a800;padding:.5rem .8rem}
input[type=search]{font:inherit;padding:.3rem;min-width:16rem}
</style>
</head><body>
<a class="skip" href="#main">Skip to the content</a>
<main id="main">
${opts.body}
</main>
${opts.script === undefined ? '' : `<script nonce="${nonce}">${opts.script}</script>`}
</body></html>
`
}
