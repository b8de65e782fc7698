/**
 * The tool's own LTI 1.3 URLs, all derived from PUBLIC_URL (never from request headers), and the
 * parser that decides whether a target_link_uri names our content (lti-checklist.md §2 #11).
 *
 * Content is named either by the path `{PUBLIC_URL}/lti/1.3/courses/{course_id}/{usage_id}`, or by
 * the generic target `{PUBLIC_URL}/lti/1.3/launch` plus the custom parameter `openedx_usage_key`
 * (for platforms that register one launch URL for every link, as the Open edX LTI consumer does).
 */

export const ToolPath = {
  login: '/lti/1.3/login',
  launch: '/lti/1.3/launch',
  jwks: '/lti/1.3/jwks',
  courses: '/lti/1.3/courses',
  /**
   * Deep Linking 2.0: the target_link_uri a platform registers for content selection (its
   * `LtiDeepLinkingRequest` still goes through login and launch); the picker's own pages and form
   * posts live under the same prefix (src/routes/lti13/deep-linking.ts).
   */
  deepLinking: '/lti/1.3/deep-linking/launch',
  deepLinkingPrefix: '/lti/1.3/deep-linking/'
} as const

/** Custom parameter naming the usage key when the target_link_uri is the generic one. */
export const USAGE_KEY_CUSTOM_PARAMETER = 'openedx_usage_key'

export interface ToolUrls {
  loginUrl: string
  /** The registered redirect_uri; also the generic target_link_uri. */
  redirectUri: string
  jwksUrl: string
  targetLinkUriTemplate: string
  /** The Deep Linking (content selection) target_link_uri. */
  deepLinkingUrl: string
}

/** Origin and path prefix of PUBLIC_URL, the prefix without its trailing slash ('' at the root). */
function base (publicUrl: string): { origin: string, pathname: string } {
  const url = new URL(publicUrl)
  return { origin: url.origin, pathname: url.pathname.replace(/\/+$/, '') }
}

function join (publicUrl: string, path: string): string {
  const url = base(publicUrl)
  return url.origin + url.pathname + path
}

export function toolUrls (publicUrl: string): ToolUrls {
  return {
    loginUrl: join(publicUrl, ToolPath.login),
    redirectUri: join(publicUrl, ToolPath.launch),
    jwksUrl: join(publicUrl, ToolPath.jwks),
    targetLinkUriTemplate: join(publicUrl, `${ToolPath.courses}/{course_id}/{usage_id}`),
    deepLinkingUrl: join(publicUrl, ToolPath.deepLinking)
  }
}

/** Percent-encodes a key for a path segment, keeping `:`, `@`, `+` and the other pchars literal. */
function encodeSegment (value: string): string {
  return encodeURIComponent(value).replace(/%(3A|40|2B|24|26|2C|3B|3D)/gi, (m) => decodeURIComponent(m))
}

export function contentTargetLinkUri (publicUrl: string, courseKey: string, usageKey: string): string {
  return join(publicUrl, `${ToolPath.courses}/${encodeSegment(courseKey)}/${encodeSegment(usageKey)}`)
}

export type TargetLink =
  | { kind: 'content', courseKey: string, usageKey: string }
  | { kind: 'generic' }
  | { kind: 'deep-linking' }

const MAX_KEY_LENGTH = 512

function decodeSegment (segment: string): string | null {
  let value: string
  try {
    value = decodeURIComponent(segment)
  } catch {
    return null
  }
  if (value.length === 0 || value.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f/\\]/.test(value)) return null
  return value
}

/**
 * Null unless `uri` is on PUBLIC_URL's origin (and under its path) and names a content route, the
 * generic launch route or the deep-linking route. Query and fragment are ignored; credentials are refused.
 */
export function parseTargetLinkUri (uri: string, publicUrl: string): TargetLink | null {
  let target: URL
  try {
    target = new URL(uri)
  } catch {
    return null
  }
  const ours = base(publicUrl)
  if (target.origin !== ours.origin || target.username !== '' || target.password !== '') return null
  if (!target.pathname.startsWith(ours.pathname + '/')) return null
  const path = target.pathname.slice(ours.pathname.length)
  if (path === ToolPath.launch) return { kind: 'generic' }
  if (path === ToolPath.deepLinking) return { kind: 'deep-linking' }
  if (!path.startsWith(ToolPath.courses + '/')) return null
  const segments = path.slice(ToolPath.courses.length + 1).split('/')
  if (segments.length !== 2) return null
  const courseKey = decodeSegment(segments[0] as string)
  const usageKey = decodeSegment(segments[1] as string)
  if (courseKey === null || usageKey === null) return null
  return { kind: 'content', courseKey, usageKey }
}

/** Two spellings of the same URL compare equal (default port, case of scheme and host). */
export function sameUrl (a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href
  } catch {
    return false
  }
}
