/**
 * Course structure and score arithmetic of the fake LMS, mirroring what Open edX computes
 * (openedx-rest.md §7.1): weighted problem scores, subsection sums over scorable descendants in
 * post-order, graded totals only for graded subsections.
 */

export interface FakeBlockSpec {
  readonly type: string
  /** The `block@` part of the usage key. */
  readonly id: string
  readonly displayName?: string
  /** Sequentials: counts toward the grade (problems below inherit it). */
  readonly graded?: boolean
  /** Sequentials: assignment type (`Homework`, `Exam`…). */
  readonly format?: string
  /** Problems: the author's weight; when set, possible becomes `weight`. */
  readonly weight?: number
  /** Problems: raw maximum score (CAPA `max_score()`); default 1. */
  readonly maxScore?: number
  readonly children?: readonly FakeBlockSpec[]
}

export interface FakeCourseSpec {
  /** `course-v1:Org+Course+Run` */
  readonly id: string
  readonly displayName?: string
  /** Enrollment mode slugs; default `['audit']`. */
  readonly modes?: readonly string[]
  /** Enrollment without `force_enrollment` answers 403. */
  readonly inviteOnly?: boolean
  readonly enrollmentClosed?: boolean
  /** Root of type `course`; a small default tree when absent. */
  readonly tree?: FakeBlockSpec
}

export interface FakeBlock {
  readonly key: string
  readonly blockId: string
  readonly type: string
  readonly displayName: string
  readonly graded: boolean
  readonly format: string | null
  readonly weight: number | null
  readonly maxScore: number | null
  readonly children: readonly string[]
  readonly parent: string | null
}

export interface FakeCourse {
  readonly id: string
  readonly displayName: string
  readonly modes: readonly string[]
  readonly inviteOnly: boolean
  readonly enrollmentClosed: boolean
  readonly root: string
  readonly blocks: ReadonlyMap<string, FakeBlock>
}

export interface RawScore {
  readonly earned: number
  readonly possible: number
}

/** Block types that carry a score. */
const SCORABLE_TYPES = new Set(['problem', 'lti_consumer', 'openassessment', 'drag-and-drop-v2'])

export function usageKey (courseId: string, type: string, blockId: string): string {
  return `block-v1:${courseId.slice('course-v1:'.length)}+type@${type}+block@${blockId}`
}

/** The tree the fake serves when a course spec has none: two subsections, three problems. */
export function defaultCourseTree (): FakeBlockSpec {
  return {
    type: 'course',
    id: 'course',
    displayName: 'Demonstration Course',
    children: [{
      type: 'chapter',
      id: 'week1',
      displayName: 'Week 1',
      children: [
        {
          type: 'sequential',
          id: 'homework1',
          displayName: 'Homework 1',
          graded: true,
          format: 'Homework',
          children: [
            {
              type: 'vertical',
              id: 'unit1',
              displayName: 'Unit 1',
              children: [
                { type: 'problem', id: 'p1', displayName: 'Problem 1', maxScore: 1 },
                { type: 'problem', id: 'p2', displayName: 'Problem 2', maxScore: 2, weight: 5 },
              ],
            },
            {
              type: 'vertical',
              id: 'unit2',
              displayName: 'Unit 2',
              children: [{ type: 'problem', id: 'p3', displayName: 'Problem 3', maxScore: 1 }],
            },
          ],
        },
        {
          type: 'sequential',
          id: 'reading1',
          displayName: 'Reading 1',
          children: [{
            type: 'vertical',
            id: 'unit3',
            displayName: 'Unit 3',
            children: [{ type: 'html', id: 'intro', displayName: 'Introduction' }],
          }],
        },
      ],
    }],
  }
}

export function buildCourse (spec: FakeCourseSpec): FakeCourse {
  const blocks = new Map<string, FakeBlock>()
  const tree = spec.tree ?? defaultCourseTree()
  const walk = (node: FakeBlockSpec, parent: string | null, inheritedGraded: boolean): string => {
    const key = usageKey(spec.id, node.type, node.id)
    const graded = node.graded ?? inheritedGraded
    const children = (node.children ?? []).map(child => walk(child, key, graded))
    blocks.set(key, {
      key,
      blockId: node.id,
      type: node.type,
      displayName: node.displayName ?? node.id,
      graded,
      format: node.format ?? null,
      weight: node.weight ?? null,
      maxScore: SCORABLE_TYPES.has(node.type) ? (node.maxScore ?? 1) : null,
      children,
      parent,
    })
    return key
  }
  const root = walk(tree, null, false)
  return {
    id: spec.id,
    displayName: spec.displayName ?? tree.displayName ?? spec.id,
    modes: spec.modes ?? ['audit'],
    inviteOnly: spec.inviteOnly ?? false,
    enrollmentClosed: spec.enrollmentClosed ?? false,
    root,
    blocks,
  }
}

export function isScorable (block: FakeBlock): boolean {
  return block.maxScore !== null
}

/** Scorable descendants of `key` (itself included), children before parents, in child order. */
export function scorablePostOrder (course: FakeCourse, key: string): FakeBlock[] {
  const block = course.blocks.get(key)
  if (block === undefined) return []
  const out = block.children.flatMap(child => scorablePostOrder(course, child))
  if (isScorable(block)) out.push(block)
  return out
}

/**
 * Weighted score of one problem for one learner: `weight` rescales (earned, possible) when set
 * and the raw possible is positive; an unattempted problem is 0 of its maximum.
 */
export function weightedScore (block: FakeBlock, raw: RawScore | undefined): RawScore {
  const rawPossible = raw?.possible ?? block.maxScore ?? 0
  const rawEarned = raw?.earned ?? 0
  if (block.weight !== null && rawPossible > 0) {
    return { earned: rawEarned * block.weight / rawPossible, possible: block.weight }
  }
  return { earned: rawEarned, possible: rawPossible }
}

export function ancestorOfType (course: FakeCourse, key: string, type: string): FakeBlock | null {
  let current = course.blocks.get(key)
  while (current !== undefined) {
    if (current.type === type) return current
    current = current.parent === null ? undefined : course.blocks.get(current.parent)
  }
  return null
}
