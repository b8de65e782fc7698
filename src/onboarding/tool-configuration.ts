/**
 * The tool's configuration as platforms want it before any client id exists (issue 15 §1): our
 * own JSON, a Canvas developer-key JSON, and an LTI 1.1 Common Cartridge basic-LTI-link XML. All
 * derived from PUBLIC_URL and two display strings; nothing secret, no database.
 *
 * Content selection (LTI Deep Linking 2.0) is advertised with its own target, the deep-linking URL:
 * Canvas's selection placements and Dynamic Registration's message list point there.
 */
import { MessageType, Scope } from '../lti/claims.js'
import { toolUrls } from '../lti/v13/tool-urls.js'

export interface ToolIdentity {
  /** PUBLIC_URL (a trailing slash is tolerated). */
  publicUrl: string
  title: string
  description: string
}

/** What we ask platforms for: post scores, read line items and results (issue 15 §1). */
export const REQUESTED_SCOPES: readonly string[] = [Scope.agsScore, Scope.agsLineItem, Scope.agsResultReadonly]

/** Messages the tool accepts: launches, and content selection (Deep Linking 2.0). */
export const SUPPORTED_MESSAGES: readonly string[] = [MessageType.resourceLinkRequest, MessageType.deepLinkingRequest]

export const DEEP_LINKING_NOTE = 'Content selection (LTI Deep Linking 2.0): instructors pick Open edX content from the platform; the LtiDeepLinkingRequest targets deepLinkingUrl through the same login and redirect URIs.'

/** The target_link_uri a platform uses for each message the tool accepts. */
export function messageTarget (type: string, publicUrl: string): string {
  const urls = toolUrls(publicUrl)
  return type === MessageType.deepLinkingRequest ? urls.deepLinkingUrl : urls.redirectUri
}

export const ConfigPath = {
  lti13: '/lti/1.3/config',
  canvas: '/lti/1.3/config/canvas.json',
  lti11: '/lti/1.1/config.xml',
  register: '/lti/1.3/register'
} as const

function prefix (publicUrl: string): string {
  const url = new URL(publicUrl)
  return url.origin + url.pathname.replace(/\/+$/, '')
}

/** The host platforms match launch URLs against (with the port when it is not the default). */
export function toolDomain (publicUrl: string): string {
  return new URL(publicUrl).host
}

export interface Lti13ToolConfiguration {
  title: string
  description: string
  domain: string
  loginUrl: string
  redirectUris: string[]
  jwksUrl: string
  targetLinkUriTemplate: string
  /** Generic target_link_uri: with the custom parameter `openedx_usage_key` naming the content. */
  genericTargetLinkUri: string
  deepLinkingUrl: string
  deepLinking: string
  messages: string[]
  scopes: string[]
  canvasConfigurationUrl: string
  lti11ConfigurationUrl: string
  dynamicRegistration: string
}

export function lti13ToolConfiguration (tool: ToolIdentity): Lti13ToolConfiguration {
  const urls = toolUrls(tool.publicUrl)
  const base = prefix(tool.publicUrl)
  return {
    title: tool.title,
    description: tool.description,
    domain: toolDomain(tool.publicUrl),
    loginUrl: urls.loginUrl,
    redirectUris: [urls.redirectUri],
    jwksUrl: urls.jwksUrl,
    targetLinkUriTemplate: urls.targetLinkUriTemplate,
    genericTargetLinkUri: urls.redirectUri,
    deepLinkingUrl: urls.deepLinkingUrl,
    deepLinking: DEEP_LINKING_NOTE,
    messages: [...SUPPORTED_MESSAGES],
    scopes: [...REQUESTED_SCOPES],
    canvasConfigurationUrl: base + ConfigPath.canvas,
    lti11ConfigurationUrl: base + ConfigPath.lti11,
    dynamicRegistration: `An Open edX administrator creates a one-time invite (lti-provider registrations invite); its URL, ${base}${ConfigPath.register}?invite=…, goes into the platform's "register by URL" field.`
  }
}

/**
 * Canvas developer-key JSON ("Enter URL" in Developer Keys → LTI Key). The selection placements open
 * the content picker (LtiDeepLinkingRequest at the deep-linking URL); a teacher may also paste a
 * content URL (same domain) for an item.
 * privacy_level `anonymous` matches the default registration (usePii off); `public` if names are wanted.
 */
export function canvasDeveloperKey (tool: ToolIdentity): Record<string, unknown> {
  const urls = toolUrls(tool.publicUrl)
  const placement = (name: string) => ({
    placement: name,
    message_type: MessageType.deepLinkingRequest,
    target_link_uri: urls.deepLinkingUrl,
    text: tool.title
  })
  return {
    title: tool.title,
    description: tool.description,
    oidc_initiation_url: urls.loginUrl,
    target_link_uri: urls.redirectUri,
    public_jwk_url: urls.jwksUrl,
    scopes: [...REQUESTED_SCOPES],
    extensions: [{
      platform: 'canvas.instructure.com',
      domain: toolDomain(tool.publicUrl),
      tool_id: 'openedx-lti-provider',
      privacy_level: 'anonymous',
      settings: {
        text: tool.title,
        placements: [placement('link_selection'), placement('assignment_selection'), placement('editor_button')]
      }
    }],
    custom_fields: {}
  }
}

function xml (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;')
}

/**
 * LTI 1.1 tool configuration (IMS Common Cartridge basic LTI link, as Canvas "By URL" and Moodle's
 * "cartridge URL" read it). A 1.1 launch names its content in the path, so the launch URL given is
 * the pattern; platforms match each link's own URL to the tool by `domain`.
 */
export function lti11ConfigurationXml (tool: ToolIdentity): string {
  const base = prefix(tool.publicUrl)
  const pattern = `${base}/lti_provider/courses/{course_id}/{usage_id}`
  const domain = toolDomain(tool.publicUrl)
  return `<?xml version="1.0" encoding="UTF-8"?>
<cartridge_basiclti_link xmlns="http://www.imsglobal.org/xsd/imslticc_v1p0"
    xmlns:blti="http://www.imsglobal.org/xsd/imsbasiclti_v1p0"
    xmlns:lticm="http://www.imsglobal.org/xsd/imslticm_v1p0"
    xmlns:lticp="http://www.imsglobal.org/xsd/imslticp_v1p0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="http://www.imsglobal.org/xsd/imslticc_v1p0 http://www.imsglobal.org/xsd/lti/ltiv1p0/imslticc_v1p0.xsd http://www.imsglobal.org/xsd/imsbasiclti_v1p0 http://www.imsglobal.org/xsd/lti/ltiv1p0/imsbasiclti_v1p0.xsd http://www.imsglobal.org/xsd/imslticm_v1p0 http://www.imsglobal.org/xsd/lti/ltiv1p0/imslticm_v1p0.xsd http://www.imsglobal.org/xsd/imslticp_v1p0 http://www.imsglobal.org/xsd/lti/ltiv1p0/imslticp_v1p0.xsd">
  <!--
    Launch URL pattern: ${xml(pattern)}
    Each link launches one piece of Open edX content: replace {course_id} with the course key
    (course-v1:Org+Course+Run) and {usage_id} with the block's usage key (block-v1:…). Whole-course
    links end after the course key. The consumer key and secret come from an Open edX administrator
    (lti-provider consumers add); the platform matches every link on ${xml(domain)} to this tool.
  -->
  <blti:title>${xml(tool.title)}</blti:title>
  <blti:description>${xml(tool.description)}</blti:description>
  <blti:launch_url>${xml(pattern)}</blti:launch_url>
  <blti:secure_launch_url>${xml(pattern)}</blti:secure_launch_url>
  <blti:vendor>
    <lticp:code>openedx-lti-provider</lticp:code>
    <lticp:name>Open edX LTI provider</lticp:name>
  </blti:vendor>
  <blti:extensions platform="canvas.instructure.com">
    <lticm:property name="tool_id">openedx-lti-provider</lticm:property>
    <lticm:property name="domain">${xml(domain)}</lticm:property>
    <lticm:property name="privacy_level">anonymous</lticm:property>
  </blti:extensions>
  <cartridge_bundle identifierref="BLTI001_Bundle"/>
  <cartridge_icon identifierref="BLTI001_Icon"/>
</cartridge_basiclti_link>
`
}
