/**
 * What the Deep Linking picker browses: the courses the LMS lists (Course List API, every page)
 * and each course's outline (Blocks API, whole structure), both cached like the grade pipeline's
 * course structure (src/grades/course-structure.ts): a TTL, least-recently-used courses dropped
 * first, and one LMS request per course at a time however many instructors open it.
 */
import { courseRootKey } from '../grades/course-structure.js'
import type { LmsBlockTree, LmsCourse, LmsCoursePage } from './lms-types.js'

export interface CatalogSource {
  listCourses: (page: number) => Promise<LmsCoursePage>
  getBlockTree: (rootKey: string, username: string | null) => Promise<LmsBlockTree | null>
}

/** One block of an outline, in pre-order (chapter → sequential → vertical → components). */
export interface OutlineNode {
  readonly key: string
  readonly type: string
  readonly title: string
  readonly depth: number
  readonly parent: string | null
  /** The LMS `graded` flag (subsections and what they contain). */
  readonly graded: boolean
  /** Points the block is worth: a problem's weight (1 when unweighted), a container's sum. 0: nothing to grade. */
  readonly scoreMaximum: number
}

export interface CourseOutline {
  readonly courseKey: string
  readonly nodes: readonly OutlineNode[]
  readonly byKey: ReadonlyMap<string, OutlineNode>
}

export interface CourseCatalog {
  courses: () => Promise<readonly LmsCourse[]>
  /** Null when the LMS does not know the course. */
  outline: (courseKey: string) => Promise<CourseOutline | null>
  readonly stats: { courseListFetches: number, outlineFetches: number }
}

export interface CourseCatalogOptions {
  source: CatalogSource
  ttlMs?: number
  maxCourses?: number
  /** Pages of 100 courses read at most (a catalog of 5,000 courses). */
  maxPages?: number
  now?: () => number
}

const MAX_DEPTH = 32

/** Pre-order walk of the tree with each block's depth, graded flag and points. */
export function buildOutline (courseKey: string, tree: LmsBlockTree): CourseOutline {
  const nodes: OutlineNode[] = []
  const byKey = new Map<string, OutlineNode>()
  const points = new Map<string, number>()
  const pointsOf = (key: string, depth: number): number => {
    const known = points.get(key)
    if (known !== undefined) return known
    const block = tree.blocks[key]
    if (block === undefined || depth > MAX_DEPTH) return 0
    const value = block.hasScore
      ? (block.weight ?? 1)
      : block.children.reduce((sum, child) => sum + pointsOf(child, depth + 1), 0)
    points.set(key, value)
    return value
  }
  const visit = (key: string, depth: number, parent: string | null): void => {
    const block = tree.blocks[key]
    if (block === undefined || depth > MAX_DEPTH || byKey.has(key)) return
    const node: OutlineNode = { key, type: block.type, title: block.displayName, depth, parent, graded: block.graded, scoreMaximum: pointsOf(key, depth) }
    byKey.set(key, node)
    if (depth > 0) nodes.push(node)
    for (const child of block.children) visit(child, depth + 1, depth === 0 ? null : key)
  }
  visit(tree.root, 0, null)
  return { courseKey, nodes, byKey }
}

export function createCourseCatalog (options: CourseCatalogOptions): CourseCatalog {
  const ttlMs = options.ttlMs ?? 600_000
  const maxCourses = options.maxCourses ?? 100
  const maxPages = options.maxPages ?? 50
  const now = options.now ?? Date.now
  const stats = { courseListFetches: 0, outlineFetches: 0 }
  let courseList: { at: number, value: Promise<readonly LmsCourse[]> } | undefined
  const outlines = new Map<string, { at: number, value: Promise<CourseOutline | null> }>()

  async function fetchCourses (): Promise<readonly LmsCourse[]> {
    stats.courseListFetches++
    const all: LmsCourse[] = []
    for (let page = 1; page <= maxPages; page++) {
      const { courses, hasNext } = await options.source.listCourses(page)
      all.push(...courses)
      if (!hasNext) break
    }
    return all
  }

  async function fetchOutline (courseKey: string): Promise<CourseOutline | null> {
    stats.outlineFetches++
    const tree = await options.source.getBlockTree(courseRootKey(courseKey), null)
    return tree === null ? null : buildOutline(courseKey, tree)
  }

  /** A failed fetch is forgotten at once, so the next page view asks the LMS again. */
  function remember<T> (value: Promise<T>, forget: () => void): Promise<T> {
    value.catch(forget)
    return value
  }

  return {
    stats,
    async courses () {
      if (courseList === undefined || now() - courseList.at >= ttlMs) {
        const entry = { at: now(), value: fetchCourses() }
        courseList = entry
        remember(entry.value, () => { if (courseList === entry) courseList = undefined })
      }
      return await courseList.value
    },
    async outline (courseKey) {
      let entry = outlines.get(courseKey)
      if (entry !== undefined && now() - entry.at >= ttlMs) entry = undefined
      if (entry === undefined) {
        const fresh = { at: now(), value: fetchOutline(courseKey) }
        entry = fresh
        remember(fresh.value, () => { if (outlines.get(courseKey) === fresh) outlines.delete(courseKey) })
      }
      outlines.delete(courseKey)
      outlines.set(courseKey, entry)
      while (outlines.size > maxCourses) outlines.delete(outlines.keys().next().value as string)
      return await entry.value
    }
  }
}
