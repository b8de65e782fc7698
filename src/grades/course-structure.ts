import type { LmsBlockTree } from '../lms/lms-types.js'
import { GradesError, fromLmsError } from './errors.js'

/** What the structure cache needs from the LMS client (LmsClient#getBlockTree fits). */
export interface BlockTreeSource {
  /** The tree below `rootKey` as `username` sees it, or null when the LMS does not know the root. */
  getBlockTree: (rootKey: string, username: string) => Promise<LmsBlockTree | null>
}

/** The one question the score pipeline asks about a course: where a block sits. */
export interface CourseStructure {
  /**
   * Every ancestor of `usageKey`, nearest first, up to the course root. Throws GRADES_UNKNOWN_COURSE
   * or GRADES_UNKNOWN_BLOCK (the event names content the LMS does not have) or GRADES_LMS_UNAVAILABLE.
   */
  ancestorsOf: (courseKey: string, usageKey: string, username: string) => Promise<string[]>
}

export interface CachedCourseStructureOptions {
  source: BlockTreeSource
  /** How long a course's tree is trusted; course authors publish changes. Default 10 min. */
  ttlMs?: number
  /** Courses kept; least recently used dropped first. Default 200. */
  maxCourses?: number
  now?: () => number
}

interface CourseEntry {
  /** child → parent, merged over the learner views fetched within the TTL. */
  parents: Map<string, string | null>
  /** `username\nusageKey` just looked for and not found in that learner's view: a burst of events costs one LMS call. */
  unknown: Set<string>
  expiresAt: number
}

const MAX_DEPTH = 64
const MAX_UNKNOWN_PER_COURSE = 1000

/** `course-v1:Org+C+R` → `block-v1:Org+C+R+type@course+block@course`, the root of the Blocks API tree. */
export function courseRootKey (courseKey: string): string {
  return `block-v1:${courseKey.slice('course-v1:'.length)}+type@course+block@course`
}

function parentsOf (tree: LmsBlockTree): Map<string, string | null> {
  const parents = new Map<string, string | null>([[tree.root, null]])
  for (const block of Object.values(tree.blocks)) {
    for (const child of block.children) parents.set(child, block.id)
  }
  return parents
}

/**
 * Course trees from the Blocks API, cached per course with a TTL, one request per (course, learner)
 * at a time. The tree is fetched as the learner sees it: randomised library content and split
 * tests show each learner different children, but a block's chain of ancestors is the same in
 * every view that contains it, so views merge safely into one parent map per course.
 */
export function createCachedCourseStructure (options: CachedCourseStructureOptions): CourseStructure & { readonly stats: { fetches: number } } {
  const ttlMs = options.ttlMs ?? 600_000
  const maxCourses = options.maxCourses ?? 200
  const now = options.now ?? Date.now
  const courses = new Map<string, CourseEntry>()
  const inFlight = new Map<string, Promise<CourseEntry>>()
  const stats = { fetches: 0 }

  function current (courseKey: string): CourseEntry | undefined {
    const entry = courses.get(courseKey)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now()) {
      courses.delete(courseKey)
      return undefined
    }
    courses.delete(courseKey)
    courses.set(courseKey, entry)
    return entry
  }

  async function fetchInto (courseKey: string, username: string): Promise<CourseEntry> {
    stats.fetches++
    let tree: LmsBlockTree | null
    try {
      tree = await options.source.getBlockTree(courseRootKey(courseKey), username)
    } catch (err) {
      throw fromLmsError(err, { courseKey, call: 'blocks' })
    }
    if (tree === null) throw GradesError('GRADES_UNKNOWN_COURSE', { courseKey })
    const fresh = parentsOf(tree)
    const existing = current(courseKey)
    const entry: CourseEntry = existing ?? { parents: new Map(), unknown: new Set(), expiresAt: now() + ttlMs }
    for (const [child, parent] of fresh) entry.parents.set(child, parent)
    entry.unknown.clear()
    courses.delete(courseKey)
    courses.set(courseKey, entry)
    while (courses.size > maxCourses) courses.delete(courses.keys().next().value as string)
    return entry
  }

  function refreshed (courseKey: string, username: string): Promise<CourseEntry> {
    const key = `${courseKey}\n${username}`
    const pending = inFlight.get(key)
    if (pending) return pending
    const request = fetchInto(courseKey, username).finally(() => inFlight.delete(key))
    inFlight.set(key, request)
    return request
  }

  function walk (entry: CourseEntry, usageKey: string): string[] {
    const ancestors: string[] = []
    let parent = entry.parents.get(usageKey) ?? null
    while (parent !== null && ancestors.length < MAX_DEPTH) {
      ancestors.push(parent)
      parent = entry.parents.get(parent) ?? null
    }
    return ancestors
  }

  return {
    stats,
    async ancestorsOf (courseKey, usageKey, username) {
      const miss = `${username}\n${usageKey}`
      const cached = current(courseKey)
      if (cached?.parents.has(usageKey)) return walk(cached, usageKey)
      if (cached?.unknown.has(miss)) throw GradesError('GRADES_UNKNOWN_BLOCK', { courseKey, usageKey })
      const entry = await refreshed(courseKey, username)
      if (entry.parents.has(usageKey)) return walk(entry, usageKey)
      if (entry.unknown.size < MAX_UNKNOWN_PER_COURSE) entry.unknown.add(miss)
      throw GradesError('GRADES_UNKNOWN_BLOCK', { courseKey, usageKey })
    }
  }
}
