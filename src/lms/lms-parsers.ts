import { asArray, asRecord, bool, num, optNum, optStr, str, type JsonRecord } from './json-shape.js'
import type { LmsAccount, LmsBlock, LmsBlockTree, LmsCoursePage, LmsEnrollment, LmsProgress, SubsectionScore } from './lms-types.js'

/** One account object of `/api/user/v1/accounts` (openedx-rest.md §2). */
export function parseAccount (value: unknown): LmsAccount {
  const r = asRecord(value, 'account')
  return {
    id: num(r, 'id', 'account'),
    username: str(r, 'username', 'account'),
    email: optStr(r, 'email'),
    name: optStr(r, 'name'),
    isActive: bool(r, 'is_active', false),
    dateJoined: optStr(r, 'date_joined'),
  }
}

/** `POST|GET /api/enrollment/v1/enrollment…` body (openedx-rest.md §4). */
export function parseEnrollment (value: unknown): LmsEnrollment {
  const r = asRecord(value, 'enrollment')
  const details = asRecord(r.course_details, 'enrollment.course_details')
  return {
    username: str(r, 'user', 'enrollment'),
    courseId: str(details, 'course_id', 'enrollment.course_details'),
    mode: str(r, 'mode', 'enrollment'),
    isActive: bool(r, 'is_active', false),
    created: optStr(r, 'created'),
    courseModes: courseModesOf(r),
  }
}

/** Mode slugs a 400 enrollment answer may list, so a caller can pick one that exists. */
export function courseModesOf (value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return []
  const details = (value as JsonRecord).course_details
  if (typeof details !== 'object' || details === null) return []
  const modes = (details as JsonRecord).course_modes
  return Array.isArray(modes) ? modes.flatMap(m => typeof (m as JsonRecord | null)?.slug === 'string' ? [(m as JsonRecord).slug as string] : []) : []
}

/** `GET /api/grades/v1/subsection/<key>/?user_id=` (gradebook_views.SubsectionGradeView). */
export function parseSubsectionScore (value: unknown): SubsectionScore {
  const r = asRecord(value, 'subsection grade')
  if (r.success === false) return { earned: 0, possible: 0, override: null, available: false }
  const original = asRecord(r.original_grade, 'subsection grade.original_grade')
  const override = typeof r.override === 'object' && r.override !== null ? r.override as JsonRecord : null
  return {
    earned: num(original, 'earned_all', 'subsection grade.original_grade'),
    possible: num(original, 'possible_all', 'subsection grade.original_grade'),
    override: override === null ? null : { earned: optNum(override, 'earned_all_override'), possible: optNum(override, 'possible_all_override') },
    available: true,
  }
}

function parseBlock (value: unknown, id: string): LmsBlock {
  const r = asRecord(value, `block ${id}`)
  const children = Array.isArray(r.children) ? r.children.filter((c): c is string => typeof c === 'string') : []
  return {
    id: str(r, 'id', 'block'),
    blockId: optStr(r, 'block_id') ?? '',
    type: str(r, 'type', 'block'),
    displayName: optStr(r, 'display_name') ?? '',
    children,
    hasScore: bool(r, 'has_score', false),
    weight: optNum(r, 'weight'),
    graded: bool(r, 'graded', false),
    format: optStr(r, 'format'),
    due: optStr(r, 'due'),
    showCorrectness: optStr(r, 'show_correctness'),
    lmsWebUrl: optStr(r, 'lms_web_url'),
    studentViewUrl: optStr(r, 'student_view_url'),
  }
}

/** Course Blocks API with `return_type=dict`: `{root, blocks:{id:{…}}}` (openedx-rest.md §7.3). */
export function parseBlockTree (value: unknown): LmsBlockTree {
  const r = asRecord(value, 'blocks')
  const root = str(r, 'root', 'blocks')
  const raw = asRecord(r.blocks, 'blocks.blocks')
  const blocks: Record<string, LmsBlock> = {}
  for (const [id, block] of Object.entries(raw)) blocks[id] = parseBlock(block, id)
  return { root, blocks }
}

/** Progress API `section_scores[].subsections[]` (openedx-rest.md §7.2). */
export function parseProgress (value: unknown): LmsProgress {
  const r = asRecord(value, 'progress')
  const sections = asArray(r.section_scores, 'progress.section_scores').map(s => {
    const section = asRecord(s, 'progress section')
    return {
      displayName: optStr(section, 'display_name') ?? '',
      subsections: asArray(section.subsections, 'progress section.subsections').map(sub => {
        const ss = asRecord(sub, 'progress subsection')
        return {
          blockKey: str(ss, 'block_key', 'progress subsection'),
          displayName: optStr(ss, 'display_name') ?? '',
          earned: optNum(ss, 'num_points_earned') ?? 0,
          possible: optNum(ss, 'num_points_possible') ?? 0,
          problemScores: asArray(ss.problem_scores ?? [], 'progress subsection.problem_scores').map(p => {
            const ps = asRecord(p, 'problem score')
            return { earned: num(ps, 'earned', 'problem score'), possible: num(ps, 'possible', 'problem score') }
          }),
          showCorrectness: optStr(ss, 'show_correctness'),
        }
      }),
    }
  })
  return { sections }
}

/** Course List API page: `{results:[{id, name, org, number, start}], pagination:{next}}`. */
export function parseCoursePage (value: unknown): LmsCoursePage {
  const r = asRecord(value, 'courses')
  const courses = asArray(r.results, 'courses.results').map(c => {
    const course = asRecord(c, 'course')
    const id = optStr(course, 'id') ?? str(course, 'course_id', 'course')
    return { id, name: optStr(course, 'name') ?? id, org: optStr(course, 'org'), number: optStr(course, 'number'), start: optStr(course, 'start') }
  })
  const pagination = r.pagination === undefined || r.pagination === null ? {} : asRecord(r.pagination, 'courses.pagination')
  const next = pagination.next
  return { courses, hasNext: typeof next === 'string' && next !== '' }
}
