/**
 * Session handoff: how the learner's browser ends up logged into the LMS, on the launched block
 * (openedx-rest.md §6). The LTI protocol work is done by now; this only builds the answer.
 *
 * - relay: an auto-submitting form POSTs a freshly signed LTI 1.1 launch to the LMS's built-in
 *   provider with our own LtiConsumer key; user_id = the LMS username we mapped and the account's
 *   own email, so the LMS (use_lti_pii) logs exactly that account in. No outcome parameters: the
 *   LMS must not pass grades back itself (event-bus.md §7), we do.
 * - token: an auto-submitting form POSTs a one-time JWT (60 s, jti, aud = LMS) signed by our tool
 *   key to the LMS companion's login endpoint, with a same-host `next`.
 * - redirect: 302 to the LMS `jump_to` URL; the learner logs in normally.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { signLti11Request } from '../lti/v11/oauth-sign.js'
import { escapeHtml, page } from '../views/html.js'
import type { SigningKey } from '../keys/tool-keys.js'
import type { LmsAccountRef } from '../lms/lms-types.js'

export type HandoffMode = 'relay' | 'token' | 'redirect'

export type HandoffResponse =
  | { kind: 'html', html: string }
  | { kind: 'redirect', location: string }

export interface HandoffTarget {
  account: LmsAccountRef
  courseKey: string
  usageKey: string
  /** LTI roles to forward (relay); the LMS ignores them for permissions. */
  roles: string[]
  contextId: string
  resourceLinkId: string
  fullName?: string | undefined
}

export interface HandoffOptions {
  mode: HandoffMode
  lmsUrl: string
  publicOrigin: string
  relay?: { consumerKey: string, consumerSecret: string } | undefined
  tokenLoginPath: string
  signingKey: () => Promise<SigningKey>
  now?: () => Date
}

export function createHandoff (opts: HandoffOptions) {
  const lms = opts.lmsUrl.replace(/\/+$/, '')
  const now = opts.now ?? (() => new Date())

  function xblockPath (usageKey: string): string {
    return `/xblock/${usageKey}?show_title=0&show_bookmark_button=0&recheck_access=1&view=student_view`
  }

  return {
    mode: opts.mode,
    async respond (target: HandoffTarget): Promise<HandoffResponse> {
      if (opts.mode === 'redirect') {
        return { kind: 'redirect', location: `${lms}/courses/${target.courseKey}/jump_to/${target.usageKey}` }
      }
      if (opts.mode === 'relay') {
        if (!opts.relay) throw new Error('relay handoff needs LMS_RELAY_CONSUMER_KEY/SECRET')
        const formParams: Array<[string, string]> = [
          ['lti_message_type', 'basic-lti-launch-request'],
          ['lti_version', 'LTI-1p0'],
          ['resource_link_id', target.resourceLinkId],
          ['context_id', target.contextId],
          ['user_id', target.account.lmsUsername],
          ['roles', target.roles.join(',') || 'Learner'],
          ['lis_person_contact_email_primary', target.account.lmsEmail]
        ]
        if (target.fullName) formParams.push(['lis_person_name_full', target.fullName])
        const signed = signLti11Request({
          url: `${lms}/lti_provider/courses/${target.courseKey}/${target.usageKey}`,
          consumerKey: opts.relay.consumerKey,
          consumerSecret: opts.relay.consumerSecret,
          formParams,
          callback: 'about:blank',
          now: now()
        })
        return { kind: 'html', html: autoSubmitForm(signed.url, signed.formParams) }
      }
      const key = await opts.signingKey()
      const token = await new SignJWT({ lms_user_id: target.account.lmsUserId, next: xblockPath(target.usageKey) })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
        .setIssuer(opts.publicOrigin)
        .setAudience(new URL(lms).origin)
        .setSubject(target.account.lmsUsername)
        .setIssuedAt(Math.floor(now().getTime() / 1000))
        .setExpirationTime(Math.floor(now().getTime() / 1000) + 60)
        .setJti(randomUUID())
        .sign(key.key)
      return { kind: 'html', html: autoSubmitForm(`${lms}${opts.tokenLoginPath}`, [['token', token], ['next', xblockPath(target.usageKey)]]) }
    }
  }
}

export type Handoff = ReturnType<typeof createHandoff>

/** A form the browser submits at once; a button remains for browsers without JavaScript. */
export function autoSubmitForm (action: string, fields: ReadonlyArray<readonly [string, string]>): string {
  const inputs = fields.map(([n, v]) => `<input type="hidden" name="${escapeHtml(n)}" value="${escapeHtml(v)}">`).join('\n')
  return page('Opening your course…', `<form id="handoff" method="post" action="${escapeHtml(action)}">
${inputs}
<noscript><button type="submit">Continue to the course</button></noscript>
</form>
<script>document.getElementById('handoff').submit()</script>`)
}
