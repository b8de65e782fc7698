import type { LedgerScore } from '../db/repositories/problem-scores-repository.js'
import type { LmsBlock, LmsBlockTree, LmsProgress, SubsectionScore } from '../lms/lms-types.js'
import { blockTypeOf, courseKeyOfBlock } from '../lms/opaque-keys.js'
import { courseRootKey } from './course-structure.js'
import { GradesError, fromLmsError } from './errors.js'

/** The LMS calls a composite needs (LmsClient fits: openedx-rest.md §9 #10–12). */
export interface CompositeLms {
  getBlockTree: (rootKey: string, username: string) => Promise<LmsBlockTree | null>
  getSubsectionScore: (sequentialKey: string, userId: number) => Promise<SubsectionScore | null>
  getProgress: (courseId: string, userId: number) => Promise<LmsProgress | null>
}

/** The ledger read (ProblemScoresRepository fits). */
export interface LedgerReader {
  listForUser: (lmsUserId: number, courseKey: string, usageKeys?: readonly string[]) => Promise<Map<string, LedgerScore>>
}

export interface CompositeScoreRequest {
  lmsUserId: number
  lmsUsername: string
  courseKey: string
  /** The launched block. */
  usageKey: string
  /** Defaults to the type in the usage key. */
  blockType?: string | undefined
}

/**
 * How the numbers were obtained, to record beside the job:
 * - `subsection`: the LMS's persisted subsection grade (`earned_all/possible_all`), exact parity for a sequential;
 * - `subsections`: the sum of those over the sequentials below a chapter or the course;
 * - `progress`: the progress API's weighted `problem_scores` of the enclosing subsection, matched to
 *   the learner's block tree in post-order, summed under the block: exact for a unit (openedx-rest.md §7.4);
 * - `ledger`: fallback when that match is unsafe (lists differ): our `problem_scores` ledger, and for
 *   problems without a ledger row 0 of the block's `weight`; `approximate` when a problem has neither.
 */
export type CompositeScoreMethod = 'subsection' | 'subsections' | 'progress' | 'ledger'

export interface CompositeScore {
  earned: number
  possible: number
  method: CompositeScoreMethod
  /** True when some scorable block had no known possible (ledger method only). */
  approximate: boolean
}

export interface CompositeScorer {
  /**
   * What edx's `send_composite_outcome` would send for the block: `score_for_block` (earned,
   * possible); the caller sends `possible > 0 ? earned / possible : 0`. Throws GRADES_UNKNOWN_COURSE,
   * GRADES_UNKNOWN_BLOCK, GRADES_CONTENT_MISMATCH or GRADES_LMS_UNAVAILABLE (retry later).
   */
  computeComposite: (request: CompositeScoreRequest) => Promise<CompositeScore>
}

/** Block types whose score is the sum of their subsections' grades. */
const ABOVE_SUBSECTIONS = new Set(['course', 'chapter'])

/** Scorable blocks below `key` (itself included), children before parents: the LMS's subsection order. */
export function scorablePostOrder (tree: LmsBlockTree, key: string): string[] {
  const out: string[] = []
  const visit = (id: string, depth: number): void => {
    const block = tree.blocks[id]
    if (block === undefined || depth > 64) return
    for (const child of block.children) visit(child, depth + 1)
    if (block.hasScore) out.push(id)
  }
  visit(key, 0)
  return out
}

function descendantsOfType (tree: LmsBlockTree, key: string, type: string): string[] {
  const out: string[] = []
  const visit = (id: string, depth: number): void => {
    const block = tree.blocks[id]
    if (block === undefined || depth > 64) return
    if (block.type === type) {
      out.push(id)
      return
    }
    for (const child of block.children) visit(child, depth + 1)
  }
  visit(key, 0)
  return out
}

function enclosingOfType (tree: LmsBlockTree, key: string, type: string): string | undefined {
  const parents = new Map<string, string>()
  for (const block of Object.values(tree.blocks)) for (const child of block.children) parents.set(child, block.id)
  let current: string | undefined = key
  for (let depth = 0; current !== undefined && depth < 64; depth++) {
    if (tree.blocks[current]?.type === type) return current
    current = parents.get(current)
  }
  return undefined
}

function sum (scores: ReadonlyArray<{ earned: number, possible: number }>): { earned: number, possible: number } {
  return scores.reduce((acc, s) => ({ earned: acc.earned + s.earned, possible: acc.possible + s.possible }), { earned: 0, possible: 0 })
}

/** A ledger entry counts as attempted when it holds a live score; a reset is "not attempted". */
function ledgerPart (block: LmsBlock | undefined, entry: LedgerScore | undefined): { earned: number, possible: number } | undefined {
  if (entry !== undefined && !entry.deleted && entry.possible > 0) return { earned: entry.earned, possible: entry.possible }
  if (block?.weight !== null && block?.weight !== undefined) return { earned: 0, possible: block.weight }
  return undefined
}

export function createCompositeScorer (options: { lms: CompositeLms, ledger: LedgerReader }): CompositeScorer {
  const { ledger } = options

  /** LMS failures become GRADES_* (retry, or a bad key); ledger (database) errors pass through untouched. */
  async function ask<T> (call: string, usageKey: string, run: (lms: CompositeLms) => Promise<T>): Promise<T> {
    try {
      return await run(options.lms)
    } catch (err) {
      throw fromLmsError(err, { call, usageKey })
    }
  }

  async function subsection (key: string, userId: number): Promise<SubsectionScore> {
    const score = await ask('subsection-grade', key, p => p.getSubsectionScore(key, userId))
    if (score === null) throw GradesError('GRADES_UNKNOWN_BLOCK', { usageKey: key })
    return score
  }

  async function withinSubsection (request: CompositeScoreRequest, tree: LmsBlockTree): Promise<CompositeScore> {
    const underBlock = scorablePostOrder(tree, request.usageKey)
    const sequential = enclosingOfType(tree, request.usageKey, 'sequential')
    if (sequential !== undefined) {
      const order = scorablePostOrder(tree, sequential)
      const progress = await ask('progress', request.usageKey, p => p.getProgress(request.courseKey, request.lmsUserId))
      const graded = progress?.sections.flatMap(s => s.subsections).find(s => s.blockKey === sequential)
      if (graded !== undefined && graded.problemScores.length === order.length) {
        const wanted = new Set(underBlock)
        return { ...sum(graded.problemScores.filter((_, i) => wanted.has(order[i] as string))), method: 'progress', approximate: false }
      }
    }
    const entries = await ledger.listForUser(request.lmsUserId, request.courseKey, underBlock)
    let approximate = false
    const parts: Array<{ earned: number, possible: number }> = []
    for (const key of underBlock) {
      const part = ledgerPart(tree.blocks[key], entries.get(key))
      if (part === undefined) approximate = true
      else parts.push(part)
    }
    return { ...sum(parts), method: 'ledger', approximate }
  }

  async function compute (request: CompositeScoreRequest): Promise<CompositeScore> {
    const blockType = request.blockType ?? blockTypeOf(request.usageKey)
    if (blockType === 'sequential') {
      const score = await subsection(request.usageKey, request.lmsUserId)
      // Overrides are ignored, as score_for_block does.
      return { earned: score.earned, possible: score.possible, method: 'subsection', approximate: false }
    }
    const tree = await ask('blocks', request.usageKey, p => p.getBlockTree(courseRootKey(request.courseKey), request.lmsUsername))
    if (tree === null) throw GradesError('GRADES_UNKNOWN_COURSE', { courseKey: request.courseKey })
    if (tree.blocks[request.usageKey] === undefined) throw GradesError('GRADES_UNKNOWN_BLOCK', { usageKey: request.usageKey })
    if (blockType !== null && ABOVE_SUBSECTIONS.has(blockType)) {
      const scores: SubsectionScore[] = []
      for (const key of descendantsOfType(tree, request.usageKey, 'sequential')) scores.push(await subsection(key, request.lmsUserId))
      return { ...sum(scores), method: 'subsections', approximate: false }
    }
    return withinSubsection(request, tree)
  }

  return {
    async computeComposite (request) {
      if (courseKeyOfBlock(request.usageKey) !== request.courseKey) {
        throw GradesError('GRADES_CONTENT_MISMATCH', { courseKey: request.courseKey, usageKey: request.usageKey })
      }
      return compute(request)
    }
  }
}
