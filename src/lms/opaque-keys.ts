/**
 * Open edX opaque keys (openedx-rest.md §8, `opaque_keys/edx/locator.py`), with Python's Unicode
 * `\w` widened to letters, digits and underscore. Only `course-v1:` and `block-v1:` are accepted:
 * legacy slash keys and library keys are not launchable course content.
 */
const W = String.raw`[\p{L}\p{N}_\-~.:]+`
const COURSE_KEY = new RegExp(String.raw`^course-v1:(${W})\+(${W})\+(${W})$`, 'u')
const BLOCK_KEY = new RegExp(String.raw`^block-v1:(${W})\+(${W})\+(${W})\+type@(${W})\+block@([\p{L}\p{N}_\-~.:%]+)$`, 'u')

export function isCourseKey (value: string): boolean {
  return COURSE_KEY.test(value)
}

export function isBlockKey (value: string): boolean {
  return BLOCK_KEY.test(value)
}

/** `block-v1:Org+C+R+type@t+block@id` → `course-v1:Org+C+R`, or null when not a block key. */
export function courseKeyOfBlock (blockKey: string): string | null {
  const m = BLOCK_KEY.exec(blockKey)
  return m === null ? null : `course-v1:${m[1]}+${m[2]}+${m[3]}`
}

/** The block type of a `block-v1:` key (`sequential`, `vertical`, `problem`…), or null. */
export function blockTypeOf (blockKey: string): string | null {
  const m = BLOCK_KEY.exec(blockKey)
  return m === null ? null : m[4] as string
}
