/**
 * The Deep Linking content selection after the id_token pipeline accepted an
 * `LtiDeepLinkingRequest`: role check → return URL host policy → an open selection → the picker's
 * pages (courses in scope, a course outline, search) → the signed answer (chosen items, or an
 * empty list on cancel) posted to the platform.
 *
 * Nothing the browser posts back is trusted: every page re-reads the open selection from its
 * signed token, the registration (active, its scope and selectable types) from the database, and
 * a submission is checked block by block against the LMS outline and the scope before anything
 * is signed. Submit and cancel take the selection, so an answer is signed at most once.
 */
import { randomBytes } from 'node:crypto'
import type { Knex } from 'knex'
import type { FastifyBaseLogger } from 'fastify'
import { isAppError } from '../../../errors.js'
import { compileContentScope, contentScopeError, type ContentScope } from '../../../lti/content-scope.js'
import { signDeepLinkingResponse, type ResourceLinkItem, type ResponseSigningKey } from '../../../lti/v13/deep-linking-response.js'
import { lti13Error } from '../../../lti/v13/errors.js'
import type { Lti13DeepLinkingRequest } from '../../../lti/v13/lti13-deep-linking.js'
import { ToolPath, contentTargetLinkUri } from '../../../lti/v13/tool-urls.js'
import type { CourseCatalog, CourseOutline, OutlineNode } from '../../../lms/course-catalog.js'
import { createLti13RegistrationsRepository, type Lti13RegistrationRecord } from '../../../db/repositories/lti13-registrations-repository.js'
import { coursesPage, nothingInScopePage, outlinePage, returnPage, type PickerContext } from '../../../views/deep-linking/picker-pages.js'
import { checkOutcomeUrl } from '../../lti11/outcome-url.js'
import { launchError } from '../../errors.js'
import { lineitemHosts } from '../registrations.js'
import { deepLinkingError } from './errors.js'
import { maySelectContent } from './roles.js'
import type { OpenSelection, Selections } from './selection.js'

/** Selectable when the registration does not say otherwise (the default list). */
export const DEFAULT_SELECTABLE_BLOCK_TYPES = ['sequential', 'vertical', 'problem', 'html', 'video'] as const
const MAX_ITEMS = 100
const CANCEL_MESSAGE = 'No content was selected.'

export interface PickerPage {
  html: string
  /** The page's Content-Security-Policy (nonce, form targets, frame ancestors). */
  csp: string
}

export interface DeepLinkingPickerDeps {
  knex: Knex
  selections: Selections
  /** undefined when the LMS is not configured. */
  catalog: CourseCatalog | undefined
  signingKey: () => Promise<ResponseSigningKey>
  publicUrl: string
  allowLoopbackHttp: boolean
  log: FastifyBaseLogger
  now?: () => number
}

export const PICKER_PATHS = {
  courses: `${ToolPath.deepLinkingPrefix}courses`,
  outline: `${ToolPath.deepLinkingPrefix}outline`,
  submit: `${ToolPath.deepLinkingPrefix}submit`,
  cancel: `${ToolPath.deepLinkingPrefix}cancel`
} as const

function originOf (url: string): string | undefined {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

/**
 * Strict CSP with a per-page nonce. Forms may post to us and to the platform's return URL only;
 * the page may be framed by the platform (its issuer, the return URL's origin, its allowed hosts).
 */
function pickerCsp (nonce: string, registration: Lti13RegistrationRecord, returnUrl: string): string {
  const platform = [originOf(registration.issuer), originOf(returnUrl), ...registration.allowedHosts.map(h => `https://${h}`)]
    .filter((o): o is string => o !== undefined)
  const unique = [...new Set(platform)].join(' ')
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'nonce-${nonce}'`,
    "img-src 'none'",
    "base-uri 'none'",
    `form-action 'self' ${originOf(returnUrl) ?? ''}`.trim(),
    `frame-ancestors 'self' ${unique}`.trim()
  ].join('; ')
}

/** A course may be browsed when the scope allows it, or allows blocks inside it. */
function courseVisible (scope: ContentScope, courseKey: string): boolean {
  if (scope.allows(courseKey)) return true
  const blockPrefix = `block-v1:${courseKey.slice('course-v1:'.length)}+`
  return scope.patterns.some(pattern => {
    if (!pattern.startsWith('block-v1:')) return false
    const literal = pattern.split('*')[0] as string
    return literal.length >= blockPrefix.length ? literal.startsWith(blockPrefix) : blockPrefix.startsWith(literal)
  })
}

function asList (value: unknown): string[] {
  if (value === undefined || value === null) return []
  const list = Array.isArray(value) ? value : [value]
  return list.filter((v): v is string => typeof v === 'string' && v !== '')
}

export function createDeepLinkingPicker (deps: DeepLinkingPickerDeps) {
  const now = deps.now ?? Date.now
  const registrations = createLti13RegistrationsRepository(deps.knex)

  function catalog (): CourseCatalog {
    if (deps.catalog === undefined) throw launchError('LAUNCH_LMS_NOT_CONFIGURED')
    return deps.catalog
  }

  /** LMS failures become one retryable refusal; the cause goes to the log, never to the page. */
  async function fromLms<T> (call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (err) {
      if (isAppError(err) && err.code === 'LAUNCH_LMS_NOT_CONFIGURED') throw err
      throw deepLinkingError('DEEP_LINKING_LMS_UNAVAILABLE', undefined, { cause: err })
    }
  }

  async function registrationOf (id: number): Promise<Lti13RegistrationRecord> {
    const registration = await registrations.findById(id)
    if (registration === undefined) throw deepLinkingError('DEEP_LINKING_SELECTION_EXPIRED')
    if (!registration.active) throw lti13Error('LTI13_REGISTRATION_INACTIVE')
    return registration
  }

  interface Opened { selection: OpenSelection, token: string, registration: Lti13RegistrationRecord, scope: ContentScope, ctx: PickerContext, csp: string }

  async function opened (token: unknown): Promise<Opened> {
    const selection = await deps.selections.read(token)
    const registration = await registrationOf(selection.registrationId)
    const nonce = randomBytes(16).toString('base64')
    return {
      selection,
      token: token as string,
      registration,
      scope: compileContentScope(registration.contentScope),
      csp: pickerCsp(nonce, registration, selection.settings.returnUrl),
      ctx: { nonce, token: token as string, paths: PICKER_PATHS, contextTitle: selection.settings.contextTitle, acceptMultiple: selection.settings.acceptMultiple }
    }
  }

  async function visibleCourses (scope: ContentScope): Promise<Array<{ id: string, name: string }>> {
    const all = await fromLms(async () => await catalog().courses())
    return all.filter(course => courseVisible(scope, course.id)).map(course => ({ id: course.id, name: course.name }))
  }

  async function coursePage (o: Opened): Promise<string> {
    if (o.scope.patterns.length === 0) return nothingInScopePage(o.ctx, 'empty-scope')
    const courses = await visibleCourses(o.scope)
    if (courses.length === 0) return nothingInScopePage(o.ctx, 'no-courses')
    return coursesPage(o.ctx, courses)
  }

  function selectableOf (o: Opened, courseKey: string): (node: OutlineNode) => boolean {
    const types = new Set(o.registration.selectableBlockTypes ?? DEFAULT_SELECTABLE_BLOCK_TYPES)
    return node => types.has(node.type) && o.scope.allows(courseKey, node.key)
  }

  async function outlineOf (o: Opened, courseKey: unknown): Promise<{ course: { id: string, name: string }, outline: CourseOutline }> {
    if (typeof courseKey !== 'string' || courseKey === '') throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { field: 'course' })
    if (!courseVisible(o.scope, courseKey)) throw contentScopeError('CONTENT_OUT_OF_SCOPE', { courseKey })
    const course = (await visibleCourses(o.scope)).find(c => c.id === courseKey)
    if (course === undefined) throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { field: 'course' })
    const outline = await fromLms(async () => await catalog().outline(courseKey))
    if (outline === null) throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { field: 'course' })
    return { course, outline }
  }

  async function answer (o: Opened, items: ResourceLinkItem[], msg: string | undefined): Promise<PickerPage> {
    await deps.selections.take(o.selection.selectionId)
    const jwt = await signDeepLinkingResponse({
      clientId: o.registration.clientId,
      platformIssuer: o.registration.issuer,
      deploymentId: o.selection.deploymentId,
      data: o.selection.settings.data,
      items,
      msg
    }, await deps.signingKey(), now())
    deps.log.info({ event: 'lti13_deep_linking_response', registrationId: o.registration.id, deploymentId: o.selection.deploymentId, items: items.length, cancelled: msg === CANCEL_MESSAGE }, 'LTI 1.3 deep linking response')
    return { html: returnPage({ nonce: o.ctx.nonce, returnUrl: o.selection.settings.returnUrl, jwt, cancelled: items.length === 0 }), csp: o.csp }
  }

  return {
    /** The launch handed over a validated request: check who asks and where the answer goes, open the picker. */
    async start (request: Lti13DeepLinkingRequest, registration: Lti13RegistrationRecord): Promise<PickerPage> {
      if (request.sub === undefined || !maySelectContent(request.roles)) throw deepLinkingError('DEEP_LINKING_ROLE_NOT_ALLOWED')
      try {
        checkOutcomeUrl(request.settings.returnUrl, { outcomeHosts: lineitemHosts(registration), pinOutcomeHost: false }, { allowLoopbackHttp: deps.allowLoopbackHttp })
      } catch (err) {
        throw deepLinkingError('DEEP_LINKING_RETURN_URL_NOT_ALLOWED', { host: originOf(request.settings.returnUrl) ?? null }, { cause: err })
      }
      const { token } = await deps.selections.open({
        registrationId: registration.id,
        deploymentId: request.deploymentId,
        settings: {
          returnUrl: request.settings.returnUrl,
          data: request.settings.data,
          acceptMultiple: request.settings.acceptMultiple,
          acceptLineItem: request.settings.acceptLineItem,
          contextTitle: request.context?.title
        }
      })
      deps.log.info({ event: 'lti13_deep_linking_request', registrationId: registration.id, deploymentId: request.deploymentId, acceptMultiple: request.settings.acceptMultiple }, 'LTI 1.3 deep linking request')
      const o = await opened(token)
      return { html: await coursePage(o), csp: o.csp }
    },

    async courses (token: unknown): Promise<PickerPage> {
      const o = await opened(token)
      return { html: await coursePage(o), csp: o.csp }
    },

    async outline (token: unknown, courseKey: unknown, query: unknown): Promise<PickerPage> {
      const o = await opened(token)
      const { course, outline } = await outlineOf(o, courseKey)
      const q = typeof query === 'string' ? query.slice(0, 200) : ''
      return {
        html: outlinePage(o.ctx, { courseKey: course.id, courseName: course.name, nodes: outline.nodes, selectable: selectableOf(o, course.id), query: q }),
        csp: o.csp
      }
    },

    /** The chosen blocks, each checked against the outline, the selectable types and the scope. */
    async submit (token: unknown, courseKey: unknown, usages: unknown): Promise<PickerPage> {
      const o = await opened(token)
      const chosen = [...new Set(asList(usages))]
      if (chosen.length === 0) throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { reason: 'nothing chosen' })
      if (chosen.length > MAX_ITEMS) throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { reason: 'too many' })
      if (chosen.length > 1 && !o.selection.settings.acceptMultiple) throw deepLinkingError('DEEP_LINKING_TOO_MANY_ITEMS')
      const { course, outline } = await outlineOf(o, courseKey)
      const selectable = selectableOf(o, course.id)
      const items = chosen.map(usageKey => {
        const node = outline.byKey.get(usageKey)
        if (node === undefined) throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { reason: 'not in the course' })
        if (!o.scope.allows(course.id, usageKey)) throw contentScopeError('CONTENT_OUT_OF_SCOPE', { courseKey: course.id, usageKey })
        if (!selectable(node)) throw deepLinkingError('DEEP_LINKING_BAD_CHOICE', { reason: 'block type not selectable', type: node.type })
        return itemOf(node, course, deps.publicUrl, o.selection.settings.acceptLineItem)
      })
      return await answer(o, items, undefined)
    },

    async cancel (token: unknown): Promise<PickerPage> {
      const o = await opened(token)
      return await answer(o, [], CANCEL_MESSAGE)
    }
  }
}

export type DeepLinkingPicker = ReturnType<typeof createDeepLinkingPicker>

function itemOf (node: OutlineNode, course: { id: string, name: string }, publicUrl: string, acceptLineItem: boolean): ResourceLinkItem {
  const title = node.title === '' ? node.type : node.title
  return {
    type: 'ltiResourceLink',
    title,
    text: `${course.name} (Open edX)`,
    url: contentTargetLinkUri(publicUrl, course.id, node.key),
    // A line item only for what Open edX grades and the platform agreed to create.
    lineItem: acceptLineItem && node.graded && node.scoreMaximum > 0
      ? { scoreMaximum: node.scoreMaximum, label: title, resourceId: node.key, tag: `openedx:${node.type}` }
      : undefined
  }
}
