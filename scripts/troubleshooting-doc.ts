/**
 * Regenerates docs/troubleshooting.md from the codes in the code (`npm run docs:errors`).
 * The guidance per family is written here; the rows come from scripts/error-catalog.ts.
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { loadErrorCatalog } from './error-catalog.js'

const FAMILIES: Array<[prefix: RegExp, title: string, guidance: string]> = [
  [/^LTI11_/, 'LTI 1.1 launches and outcomes', 'The consumer (Canvas, Moodle…) sent a launch we refuse. Check the consumer key and secret on both sides (`lti-provider consumers show`), that the launch URL the platform posts to is exactly `PUBLIC_URL` + `/lti_provider/courses/…` (a proxy that rewrites scheme, host or port breaks signatures: set `PUBLIC_URL` to the external origin), and the server clocks (±`LTI11_TIMESTAMP_WINDOW`). A replayed nonce is a reload of an old launch: launch again from the platform.'],
  [/^LTI13_/, 'LTI 1.3 login and launch', 'Compare the registration (`lti-provider registrations show`) with the platform\'s tool configuration: issuer, client id, deployment ids, the login, redirect (launch) and JWKS URLs the admin API printed. State errors usually mean the browser blocked the binding cookie and the platform offers no platform storage: open the content in a new window. Token time errors: check clocks.'],
  [/^CONTENT_/, 'Content keys and scope', 'The launch names content that is not an Open edX course block, or that the consumer/registration may not launch. Check the link (`course-v1:` and `block-v1:` keys of the same course) and the `contentScope` patterns.'],
  [/^LAUNCH_/, 'Launch service', 'The protocol checks passed, but the learner cannot be taken into the course: LMS settings, account policy, or the grade return address. See the message.'],
  [/^LMS_/, 'Open edX LMS REST calls', 'Check `LMS_URL`, the OAuth2 client (`LMS_CLIENT_ID`/`LMS_CLIENT_SECRET`, an unrestricted client-credentials application owned by a global-staff user), and that the LMS is up. Registration limits: raise `REGISTRATION_RATELIMIT` for the service\'s IP in the LMS.'],
  [/^HTTP_OUT_/, 'Outbound calls to platforms', 'A platform URL (outcome service, token endpoint, lineitem, JWKS) was refused by the SSRF guard or failed: HTTPS only, public addresses only, hosts on the consumer\'s or registration\'s allow-list, no redirect to another host, answers within `OUTBOUND_TIMEOUT_MS` and `OUTBOUND_MAX_BYTES`.'],
  [/^EVENT_/, 'Event bus', 'Score events that could not be read go to the `dead_letters` table with their topic, partition and offset. Check the LMS companion\'s event type and schema, `SCHEMA_REGISTRY_URL` and its credentials, and `EVENT_BUS_TOPIC_PREFIX`.'],
  [/^GRADES_/, 'Grade computation', 'The score of a unit or subsection launch could not be computed from the LMS grades APIs. Check that the course and block still exist and the service user is course staff or global staff.'],
  [/^PASSBACK_/, 'Grade delivery', 'A grade could not be delivered to the platform. `lti-provider passbacks list --status dead` shows the last error; fix the cause (credentials, outcome/lineitem host allow-list, platform down) and `lti-provider passbacks retry`.'],
  [/^(KEY_|SECRET_)/, 'Keys and secrets', 'Tool keys and stored secrets. `SECRET_UNREADABLE` means `SECRET_KEY` changed since the secrets were stored: restore the old key.'],
  [/^ADMIN_/, 'Admin API', 'The admin API refused the call: token, body fields, duplicates, or unknown ids.'],
  [/./, 'HTTP', 'Generic answers of the HTTP layer.']
]

export async function renderTroubleshooting (): Promise<string> {
  const entries = await loadErrorCatalog()
  const used = new Set<string>()
  let out = '# Troubleshooting: error codes\n\n' +
    'Every refusal carries a stable code: on the learner\'s page (with a reference = the request id in the\n' +
    'logs), in admin API JSON (`code`), in CLI errors and in log lines. This table is generated from the code\n' +
    '(`npm run docs:errors`) and a test fails when a code is missing here. Codes of the LMS companion app\n' +
    '(`COMPANION_*`) are in `lms-plugin/README.md`.\n'
  for (const [prefix, title, guidance] of FAMILIES) {
    const rows = entries.filter(e => !used.has(e.code) && prefix.test(e.code))
    if (rows.length === 0) continue
    for (const r of rows) used.add(r.code)
    out += `\n## ${title}\n\n${guidance}\n\n| code | HTTP | meaning |\n|---|---|---|\n`
    out += rows.map(r => `| \`${r.code}\` | ${r.status} | ${r.message.replace(/\|/g, '\\|')} |`).join('\n') + '\n'
  }
  return out
}

const target = fileURLToPath(new URL('../docs/troubleshooting.md', import.meta.url))
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(target, await renderTroubleshooting())
  process.stdout.write(`wrote ${target}\n`)
}
