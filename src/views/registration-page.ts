/**
 * The pages a platform admin sees at the end of LTI Dynamic Registration, in the platform's iframe
 * (Moodle, Canvas) or in a new tab (Brightspace). Success posts `org.imsglobal.lti.close` to the
 * window that opened or frames us, so the platform closes the panel; with warnings the page waits
 * for the admin to read them and press Close. Failures never close: the admin needs the code.
 */
import { jsonForScript } from '../lti/v13/html.js'
import { escapeHtml, page } from './html.js'

export interface RegistrationOutcome {
  registrationId: number
  name: string
  issuer: string
  clientId: string
  deploymentId: string | null
  active: boolean
  warnings: string[]
}

// window.opener: a new tab (Brightspace); window.parent: an iframe (Moodle, Canvas). Target origin
// '*': the message carries nothing secret and the spec names no origin to check against. A tab we
// were opened into is closed too, since nothing else will close it.
const CLOSE_SCRIPT = `(function () {
  var settings = JSON.parse(document.getElementById('dr-settings').textContent);
  function closeRegistration () {
    var message = { subject: 'org.imsglobal.lti.close' };
    var target = window.opener || (window.parent !== window ? window.parent : null);
    if (target) { target.postMessage(message, '*'); }
    if (window.opener) { window.close(); }
    document.getElementById('closing').hidden = false;
  }
  document.getElementById('close').addEventListener('click', closeRegistration);
  if (settings.autoClose) { closeRegistration(); }
})();`

export function registrationSuccessPage (outcome: RegistrationOutcome): string {
  const status = outcome.active
    ? '<p><strong>Active:</strong> learners can launch Open edX content from this platform now.</p>'
    : '<p><strong>Waiting for activation:</strong> an administrator of the Open edX tool must activate this registration before learners can launch.</p>'
  const warnings = outcome.warnings.length === 0
    ? ''
    : `<h2>Warnings</h2>\n<ul id="warnings">${outcome.warnings.map(w => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`
  const settings = jsonForScript({ autoClose: outcome.warnings.length === 0 })
  return page('Registered with Open edX', `<h1>Registered with Open edX</h1>
<p>This platform is now registered with the Open edX tool.</p>
<p>Issuer: <code>${escapeHtml(outcome.issuer)}</code><br>Client id: <code>${escapeHtml(outcome.clientId)}</code><br>
Deployment id: ${outcome.deploymentId === null ? 'none yet (recorded at the first launch)' : `<code>${escapeHtml(outcome.deploymentId)}</code>`}<br>
Registration number on the tool: <code>${outcome.registrationId}</code></p>
${status}
${warnings}
<p><button id="close" type="button">Close</button> <span id="closing" hidden>You can close this window.</span></p>
<script type="application/json" id="dr-settings">${settings}</script>
<script>${CLOSE_SCRIPT}</script>`)
}

export function registrationFailurePage (status: number, code: string, message: string, requestId: string): string {
  return page(`Registration failed (${status})`, `<h1>The platform could not be registered</h1>
<p>${escapeHtml(message)}</p>
<p>Error code: <code>${escapeHtml(code)}</code><br>Reference: <code>${escapeHtml(requestId)}</code></p>
<p>Nothing was stored. Send the code and reference to the Open edX administrator who gave you the registration link.</p>`)
}
