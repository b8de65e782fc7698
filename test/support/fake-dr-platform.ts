/**
 * LTI Dynamic Registration endpoints on a fake LTI 1.3 platform's own origin
 * (test/support/fake-lti13-platform.ts `routes`), shaped like the two platforms admins use most:
 *
 * - `moodle` (mod/lti/openid-configuration.php, openid-registration.php): configuration served
 *   without a token; `messages_supported` a list of strings; the registration answer echoes the
 *   request with `client_id`, the granted `scope`, and `deployment_id` inside the tool-configuration
 *   claim; refusals are 400 with a plain-text reason.
 * - `canvas` (/api/lti/security/openid-configuration, /api/lti/registrations): the configuration
 *   needs the registration token; `messages_supported` a list of objects with `type` and
 *   `placements`; Canvas-only claims; no deployment id in the answer (the deployment is made at
 *   install time); refusals are 422 `{"errors": [...]}`. Served from `configHost` (the school's
 *   host) while the issuer is the platform's origin, as Canvas Cloud does.
 *
 * Both check what the real ones check of our request: bearer token, JSON, the required fields.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FakeLti13Platform } from './fake-lti13-platform.js'

export type DrShape = 'moodle' | 'canvas'

const TOOL_CONFIG = 'https://purl.imsglobal.org/spec/lti-tool-configuration'
const PLATFORM_CONFIG = 'https://purl.imsglobal.org/spec/lti-platform-configuration'
const AGS = 'https://purl.imsglobal.org/spec/lti-ags/scope/'

export interface FakeDrOptions {
  shape: DrShape
  /** token_endpoint to advertise (e.g. the AGS fake's); default the platform's own. */
  tokenUrl?: string
  /** Canvas: host name the configuration and registration endpoint are served on (default: the issuer's). */
  configHost?: string
  /** Scopes granted in the answer; default all asked that the platform supports. */
  grantScopes?: (asked: string[]) => string[]
}

export interface DrFaults {
  configStatus?: number
  configBody?: string
  /** Edits the configuration document before it is sent. */
  config?: (doc: Record<string, unknown>) => Record<string, unknown>
  registrationStatus?: number
  registrationBody?: string
  /** Edits the registration answer before it is sent. */
  answer?: (doc: Record<string, unknown>) => Record<string, unknown>
}

export interface FakeDr {
  shape: DrShape
  configurationUrl: string
  registrationEndpoint: string
  registrationToken: string
  /** The URL the platform opens: the tool's invite URL plus openid_configuration and registration_token. */
  startUrl (inviteUrl: string, token?: string): string
  configRequests: Array<{ authorization: string | undefined }>
  registrationRequests: Array<{ authorization: string | undefined, contentType: string | undefined, body: Record<string, unknown> }>
  faults: DrFaults
}

const MOODLE_SCOPES = [
  'https://purl.imsglobal.org/spec/lti-bo/scope/basicoutcome', `${AGS}lineitem.readonly`, `${AGS}result.readonly`, `${AGS}score`,
  `${AGS}lineitem`, 'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly', 'https://purl.imsglobal.org/spec/lti-ts/scope/toolsetting', 'openid'
]
const CANVAS_SCOPES = [
  `${AGS}lineitem`, `${AGS}lineitem.readonly`, `${AGS}result.readonly`, `${AGS}score`,
  'https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly', 'https://canvas.instructure.com/lti/public_jwk/scope/update',
  'https://canvas.instructure.com/lti/account_lookup/scope/show', 'https://canvas.instructure.com/lti/feature_flags/scope/show'
]

function json (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(typeof body === 'string' ? body : JSON.stringify(body))
}

function text (res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(body)
}

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/** What Moodle's and Canvas's registration endpoints refuse (missing or wrong fixed values). */
function requestProblems (body: Record<string, unknown>): string[] {
  const problems: string[] = []
  const list = (v: unknown): unknown[] => Array.isArray(v) ? v : []
  if (body.application_type !== 'web') problems.push('application_type must be web')
  if (!list(body.response_types).includes('id_token')) problems.push('response_types must include id_token')
  for (const g of ['implicit', 'client_credentials']) if (!list(body.grant_types).includes(g)) problems.push(`grant_types must include ${g}`)
  for (const f of ['initiate_login_uri', 'client_name', 'jwks_uri', 'scope']) if (typeof body[f] !== 'string' || body[f] === '') problems.push(`${f} is required`)
  if (list(body.redirect_uris).length === 0) problems.push('redirect_uris is required')
  if (body.token_endpoint_auth_method !== 'private_key_jwt') problems.push('token_endpoint_auth_method must be private_key_jwt')
  const config = body[TOOL_CONFIG] as Record<string, unknown> | undefined
  if (typeof config !== 'object' || config === null) problems.push(`${TOOL_CONFIG} is required`)
  else for (const f of ['domain', 'target_link_uri']) if (typeof config[f] !== 'string') problems.push(`${TOOL_CONFIG}.${f} is required`)
  return problems
}

export function attachDynamicRegistration (platform: FakeLti13Platform, options: FakeDrOptions): FakeDr {
  const shape = options.shape
  const registrationToken = 'reg-' + randomBytes(24).toString('base64url')
  const issuer = new URL(platform.issuer)
  const configOrigin = options.configHost === undefined ? issuer.origin : `${issuer.protocol}//${options.configHost}:${issuer.port}`
  const configPath = shape === 'moodle' ? '/mod/lti/openid-configuration.php' : '/api/lti/security/openid-configuration'
  const registrationPath = shape === 'moodle' ? '/mod/lti/openid-registration.php' : '/api/lti/registrations'
  const faults: DrFaults = {}
  const configRequests: FakeDr['configRequests'] = []
  const registrationRequests: FakeDr['registrationRequests'] = []
  const supported = shape === 'moodle' ? MOODLE_SCOPES : CANVAS_SCOPES

  const configuration = (): Record<string, unknown> => {
    const common = {
      issuer: platform.issuer,
      authorization_endpoint: platform.authLoginUrl,
      token_endpoint: options.tokenUrl ?? platform.tokenUrl,
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256'],
      jwks_uri: platform.jwksUrl,
      registration_endpoint: configOrigin + registrationPath,
      scopes_supported: supported,
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['RS256']
    }
    if (shape === 'moodle') {
      return {
        ...common,
        subject_types_supported: ['public', 'pairwise'],
        claims_supported: ['sub', 'iss', 'name', 'given_name', 'family_name', 'email'],
        [PLATFORM_CONFIG]: {
          product_family_code: 'moodle',
          version: '4.4.3 (Build: 20240902)',
          messages_supported: ['LtiResourceLinkRequest', 'LtiDeepLinkingRequest'],
          variables: ['basic-lti-launch-request', 'ContentItemSelectionRequest', 'ToolProxyRegistrationRequest', 'Context.id', 'User.id']
        }
      }
    }
    return {
      ...common,
      subject_types_supported: ['public'],
      claims_supported: ['sub', 'picture', 'email', 'name', 'given_name', 'family_name', 'locale'],
      [PLATFORM_CONFIG]: {
        product_family_code: 'canvas',
        version: 'OpenSource',
        messages_supported: [
          { type: 'LtiResourceLinkRequest', placements: ['account_navigation', 'assignment_selection', 'course_navigation', 'link_selection'] },
          { type: 'LtiDeepLinkingRequest', placements: ['assignment_selection', 'editor_button', 'link_selection'] }
        ],
        variables: ['Canvas.course.id', 'Canvas.user.id'],
        'https://canvas.instructure.com/lti/account_name': 'Example University',
        'https://canvas.instructure.com/lti/account_lti_guid': 'guid-' + issuer.port
      }
    }
  }

  const refuse = (res: ServerResponse, status: number, problems: string[]): void => {
    if (shape === 'moodle') text(res, status === 401 ? 401 : 400, problems.join('; '))
    else json(res, status === 401 ? 401 : 422, { errors: problems.map(message => ({ message })) })
  }

  const handleConfig = (req: IncomingMessage, res: ServerResponse): void => {
    const authorization = req.headers.authorization
    configRequests.push({ authorization })
    if (faults.configStatus !== undefined) return json(res, faults.configStatus, faults.configBody ?? '{}')
    if (faults.configBody !== undefined) return text(res, 200, faults.configBody)
    // Canvas refuses the configuration without its registration token; Moodle serves it to anyone.
    if (shape === 'canvas' && authorization !== `Bearer ${registrationToken}`) return refuse(res, 401, ['invalid registration token'])
    const doc = configuration()
    json(res, 200, faults.config ? faults.config(doc) : doc)
  }

  const handleRegistration = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const authorization = req.headers.authorization
    const raw = await readBody(req)
    let body: Record<string, unknown>
    try {
      body = JSON.parse(raw) as Record<string, unknown>
    } catch {
      return refuse(res, 400, ['body is not JSON'])
    }
    registrationRequests.push({ authorization, contentType: req.headers['content-type'], body })
    if (authorization !== `Bearer ${registrationToken}`) return refuse(res, 401, ['invalid registration token'])
    if (!String(req.headers['content-type']).startsWith('application/json')) return refuse(res, 400, ['content type must be application/json'])
    if (faults.registrationStatus !== undefined) {
      res.writeHead(faults.registrationStatus, { 'content-type': shape === 'moodle' ? 'text/plain' : 'application/json' })
      return void res.end(faults.registrationBody ?? (shape === 'moodle' ? 'Unsupported' : JSON.stringify({ errors: [{ message: 'Registration not allowed for this account' }] })))
    }
    if (faults.registrationBody !== undefined) return text(res, 200, faults.registrationBody)
    const problems = requestProblems(body)
    if (problems.length > 0) return refuse(res, 400, problems)
    const asked = String(body.scope).split(' ')
    const granted = options.grantScopes ? options.grantScopes(asked) : asked.filter(s => supported.includes(s))
    const toolConfig = body[TOOL_CONFIG] as Record<string, unknown>
    const answer: Record<string, unknown> = shape === 'moodle'
      ? { ...body, client_id: platform.clientId, scope: granted.join(' '), [TOOL_CONFIG]: { ...toolConfig, deployment_id: platform.deploymentId } }
      : {
          client_id: platform.clientId,
          application_type: 'web',
          grant_types: body.grant_types,
          initiate_login_uri: body.initiate_login_uri,
          redirect_uris: body.redirect_uris,
          response_types: body.response_types,
          client_name: body.client_name,
          jwks_uri: body.jwks_uri,
          token_endpoint_auth_method: 'private_key_jwt',
          scope: granted.join(' '),
          [TOOL_CONFIG]: { ...toolConfig, 'https://canvas.instructure.com/lti/privacy_level': 'anonymous' },
          'https://canvas.instructure.com/lti/registration_config_url': `${configOrigin}/api/lti/registrations/17/view`
        }
    json(res, 200, faults.answer ? faults.answer(answer) : answer)
  }

  platform.routes.push((req, res, url) => {
    if (req.method === 'GET' && url.pathname === configPath) {
      handleConfig(req, res)
      return true
    }
    if (req.method === 'POST' && url.pathname === registrationPath) {
      handleRegistration(req, res).catch(err => text(res, 500, String(err)))
      return true
    }
    return false
  })

  return {
    shape,
    configurationUrl: configOrigin + configPath,
    registrationEndpoint: configOrigin + registrationPath,
    registrationToken,
    startUrl (inviteUrl, token = registrationToken) {
      const url = new URL(inviteUrl)
      url.searchParams.set('openid_configuration', configOrigin + configPath)
      if (token !== '') url.searchParams.set('registration_token', token)
      return url.pathname + url.search
    },
    configRequests,
    registrationRequests,
    faults
  }
}
