import { lmsError } from './errors.js'
import { courseKeyOfBlock, isBlockKey, isCourseKey } from './opaque-keys.js'

export interface ContentUrls {
  /** Chromeless block view, the iframe target (needs an LMS session; enforces enrollment). */
  readonly xblock: string
  /** Redirects to the right Learning MFE unit. */
  readonly jump: string
  /** The LMS's built-in LTI 1.1 provider for this block: the relay target. */
  readonly relay: string
  /** Learning MFE page, when the MFE URL and the enclosing sequence are known. */
  readonly mfe: string | null
}

export interface MfeLocation {
  readonly mfeUrl: string
  readonly sequenceKey: string
  readonly unitKey?: string
}

function base (url: string): string {
  return url.replace(/\/+$/, '')
}

/**
 * The LMS URLs for one block (openedx-rest.md §5, call #15). Pure. Keys are validated so that
 * nothing but a course key and one of its blocks can be spliced into a path; the block must
 * belong to the course.
 */
export function contentUrls (lmsUrl: string, courseId: string, blockKey: string, mfe?: MfeLocation): ContentUrls {
  if (!isCourseKey(courseId)) throw lmsError('LMS_CONTENT_KEY_INVALID', { field: 'courseId' })
  if (!isBlockKey(blockKey)) throw lmsError('LMS_CONTENT_KEY_INVALID', { field: 'blockKey' })
  if (courseKeyOfBlock(blockKey) !== courseId) throw lmsError('LMS_CONTENT_KEY_INVALID', { field: 'blockKey', reason: 'other-course' })
  const lms = base(lmsUrl)
  let mfeUrl: string | null = null
  if (mfe !== undefined) {
    for (const key of [mfe.sequenceKey, mfe.unitKey].filter((k): k is string => k !== undefined)) {
      if (!isBlockKey(key) || courseKeyOfBlock(key) !== courseId) throw lmsError('LMS_CONTENT_KEY_INVALID', { field: 'mfe' })
    }
    mfeUrl = `${base(mfe.mfeUrl)}/course/${courseId}/${mfe.sequenceKey}` + (mfe.unitKey === undefined ? '' : `/${mfe.unitKey}`)
  }
  return {
    xblock: `${lms}/xblock/${blockKey}?show_title=0&show_bookmark_button=0&recheck_access=1&view=student_view`,
    jump: `${lms}/courses/${courseId}/jump_to/${blockKey}`,
    relay: `${lms}/lti_provider/courses/${courseId}/${blockKey}`,
    mfe: mfeUrl,
  }
}
