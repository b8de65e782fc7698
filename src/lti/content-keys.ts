import { registerErrors } from '../errors.js'

/**
 * Refusals of Open edX content keys named in launch URLs (`/lti_provider/courses/{course}/{usage}`
 * and the LTI 1.3 target link). All 400: the link itself is wrong, whoever follows it.
 */
export const contentKeyError = registerErrors({
  CONTENT_BAD_COURSE_KEY: [400, 'The link does not name a valid course (expected course-v1:Org+Course+Run).'],
  CONTENT_BAD_USAGE_KEY: [400, 'The link does not name a valid course block (expected block-v1:Org+Course+Run+type@…+block@…).'],
  CONTENT_USAGE_NOT_IN_COURSE: [400, 'The linked block does not belong to the linked course.'],
  CONTENT_LIBRARY_KEY_NOT_SUPPORTED: [400, 'Content library keys cannot be launched: link to the course copy of the content (a block-v1 key) instead.'],
  CONTENT_LEGACY_KEY_NOT_SUPPORTED: [400, 'Old-style course keys (Org/Course/Run, i4x://) are not supported: use the course-v1 / block-v1 key shown in Studio.']
})

export interface CourseKey {
  org: string
  course: string
  run: string
  /** Canonical text, `course-v1:Org+Course+Run`. */
  key: string
}

export interface UsageKey {
  courseKey: CourseKey
  blockType: string
  blockId: string
  /** Canonical text, `block-v1:Org+Course+Run+type@…+block@…`. */
  key: string
}

/**
 * openedx-rest.md §8 (opaque_keys `locator.py`), with Python's Unicode `\w` written as
 * `[\p{L}\p{N}_]`. Branch/version-qualified keys are not matched on purpose: launches name published
 * content. Parts cannot contain `+`, so the pattern cannot backtrack badly.
 */
const PART = String.raw`[\p{L}\p{N}_\-~.:]+`
const COURSE_KEY = new RegExp(String.raw`^course-v1:(${PART})\+(${PART})\+(${PART})$`, 'u')
const USAGE_KEY = new RegExp(String.raw`^block-v1:(${PART})\+(${PART})\+(${PART})\+type@(${PART})\+block@([\p{L}\p{N}_\-~.:%]+)$`, 'u')

/** opaque_keys keys live in 255-character columns; longer input is not a key. */
const MAX_KEY_LENGTH = 255

const LIBRARY_NAMESPACES = ['library-v1:', 'lib-block-v1:', 'lb:', 'lib:', 'lct:', 'lib-collection:']
const LEGACY_NAMESPACES = ['i4x:', 'c4x:', 'slashes:', 'location:']

export function parseCourseKey (raw: string): CourseKey {
  refuseOtherKinds(raw)
  const match = raw.length <= MAX_KEY_LENGTH ? COURSE_KEY.exec(raw) : null
  if (match === null) throw contentKeyError('CONTENT_BAD_COURSE_KEY', { key: shorten(raw) })
  const [, org, course, run] = match as unknown as [string, string, string, string]
  return { org, course, run, key: raw }
}

export function parseUsageKey (raw: string): UsageKey {
  refuseOtherKinds(raw)
  const match = raw.length <= MAX_KEY_LENGTH ? USAGE_KEY.exec(raw) : null
  if (match === null) throw contentKeyError('CONTENT_BAD_USAGE_KEY', { key: shorten(raw) })
  const [, org, course, run, blockType, blockId] = match as unknown as [string, string, string, string, string, string]
  return { courseKey: { org, course, run, key: `course-v1:${org}+${course}+${run}` }, blockType, blockId, key: raw }
}

/** The course a block belongs to: its key with the type/block parts dropped. */
export function courseKeyOfUsage (usageKey: string): string {
  return parseUsageKey(usageKey).courseKey.key
}

export function blockTypeOf (usageKey: string): string {
  return parseUsageKey(usageKey).blockType
}

export function blockIdOf (usageKey: string): string {
  return parseUsageKey(usageKey).blockId
}

/**
 * The pair a launch names: a valid course, a valid block, and the block inside that course
 * (otherwise a consumer allowed one course could reach another course's block by editing the URL).
 */
export function parseLaunchContent (courseKey: string, usageKey: string): { course: CourseKey, usage: UsageKey } {
  const course = parseCourseKey(courseKey)
  const usage = parseUsageKey(usageKey)
  if (usage.courseKey.key !== course.key) {
    throw contentKeyError('CONTENT_USAGE_NOT_IN_COURSE', { courseKey: shorten(course.key), usageCourseKey: shorten(usage.courseKey.key) })
  }
  return { course, usage }
}

/** Library and legacy keys get their own codes: "not supported" says more than "invalid". */
function refuseOtherKinds (raw: string): void {
  if (LIBRARY_NAMESPACES.some(ns => raw.startsWith(ns))) throw contentKeyError('CONTENT_LIBRARY_KEY_NOT_SUPPORTED', { key: shorten(raw) })
  if (LEGACY_NAMESPACES.some(ns => raw.startsWith(ns)) || /^[^:/]+\/[^/]+\/[^/]+$/.test(raw)) {
    throw contentKeyError('CONTENT_LEGACY_KEY_NOT_SUPPORTED', { key: shorten(raw) })
  }
}

function shorten (value: string): string {
  return value.length > 300 ? value.slice(0, 300) + '…' : value
}
