/**
 * Headers of every LTI 1.3 login and launch answer, refusal pages included: nothing cached (the
 * pages carry one-time tokens and bindings), no Referer towards the platform or the LMS (URLs and
 * forms carry state and hints), no MIME sniffing.
 *
 * No X-Frame-Options: these pages live in the platform's iframe. No CSP `frame-ancestors` either:
 * the origins that frame a launch are often not the issuer's (Canvas frames from each school's
 * host under one issuer; platforms nest frames), and a wrong list breaks every launch. It needs an
 * admin-configured list per registration, which registrations do not have yet.
 */
export const LAUNCH_RESPONSE_HEADERS = {
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff'
} as const
