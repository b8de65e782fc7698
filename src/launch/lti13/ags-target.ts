/**
 * Which AGS line item a launch asks us to report to (wire-formats.md §6). Captured only when the
 * platform granted the score scope and named the launch's own line item (`lineitem`): a bare
 * `lineitems` container would need us to create line items, which this tool does not do.
 *
 * The line item URL comes from the id_token: signed by the platform, but any platform could aim it
 * at someone else's host. It must be https (plain http only to loopback in tests and the demo) on
 * the registration's allowed hosts (issuer host + admin list); the outbound client checks the
 * resolved addresses again when it sends.
 */
import { Scope } from '../../lti/claims.js'
import type { Lti13Launch } from '../../lti/v13/lti13-launch.js'
import { checkOutcomeUrl } from '../lti11/outcome-url.js'

export interface AgsTarget {
  lineitemUrl: string
  scopes: string[]
}

export function agsTargetOf (ags: Lti13Launch['ags'], allowedHosts: readonly string[], opts: { allowLoopbackHttp: boolean }): AgsTarget | undefined {
  if (ags === undefined || !ags.scope.includes(Scope.agsScore) || ags.lineitem === undefined || ags.lineitem === '') return undefined
  // Never pin on first use here (unlike LTI 1.1): an empty list means "issuer host only", never "anything".
  const checked = checkOutcomeUrl(ags.lineitem, { outcomeHosts: allowedHosts, pinOutcomeHost: false }, opts)
  return { lineitemUrl: checked.url, scopes: [...new Set(ags.scope)] }
}
