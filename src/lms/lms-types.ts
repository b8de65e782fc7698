/** What the LmsClient returns: camelCase views of the LMS JSON, only the fields we use. */

/** The LMS account an LTI user or profile is mapped to, as the identity tables keep it. */
export interface LmsAccountRef { lmsUserId: number, lmsUsername: string, lmsEmail: string }

export interface LmsAccount {
  readonly id: number
  readonly username: string
  readonly email: string | null
  readonly name: string | null
  /** New registration-API accounts stay inactive until email activation; they can still be enrolled. */
  readonly isActive: boolean
  readonly dateJoined: string | null
}

export interface NewLmsUser {
  readonly username: string
  readonly email: string
  readonly name: string
  readonly password: string
}

export interface CreatedLmsUser {
  readonly userId: number
  readonly username: string
}

export interface ServiceIdentity {
  readonly username: string
  /** Global staff: the email lookup only staff may make answered 200. */
  readonly isStaff: boolean
}

export interface LmsEnrollment {
  readonly username: string
  readonly courseId: string
  readonly mode: string
  readonly isActive: boolean
  readonly created: string | null
  /** Slugs of the course's modes, when the LMS listed them. */
  readonly courseModes: readonly string[]
}

export interface SubsectionScore {
  /** `original_grade.earned_all` / `possible_all`: what the LMS's `score_for_block` gives a sequential. */
  readonly earned: number
  readonly possible: number
  readonly override: { readonly earned: number | null, readonly possible: number | null } | null
  /** false when the LMS answered `success: false` (subsection not available to the learner): 0/0. */
  readonly available: boolean
}

export interface LmsBlock {
  readonly id: string
  readonly blockId: string
  readonly type: string
  readonly displayName: string
  readonly children: readonly string[]
  readonly hasScore: boolean
  readonly weight: number | null
  readonly graded: boolean
  readonly format: string | null
  readonly due: string | null
  readonly showCorrectness: string | null
  readonly lmsWebUrl: string | null
  readonly studentViewUrl: string | null
}

export interface LmsBlockTree {
  readonly root: string
  readonly blocks: Readonly<Record<string, LmsBlock>>
}

export interface ProgressProblemScore {
  readonly earned: number
  readonly possible: number
}

export interface ProgressSubsection {
  readonly blockKey: string
  readonly displayName: string
  /** Graded totals (`num_points_earned` / `num_points_possible`). */
  readonly earned: number
  readonly possible: number
  /** Weighted scores of every scorable descendant, graded or not, in post-order, without ids. */
  readonly problemScores: readonly ProgressProblemScore[]
  readonly showCorrectness: string | null
}

export interface ProgressSection {
  readonly displayName: string
  readonly subsections: readonly ProgressSubsection[]
}

export interface LmsProgress {
  readonly sections: readonly ProgressSection[]
}

/** One course of the Course List API (`/api/courses/v1/courses/`). */
export interface LmsCourse {
  readonly id: string
  readonly name: string
  readonly org: string | null
  readonly number: string | null
  readonly start: string | null
}

export interface LmsCoursePage {
  readonly courses: readonly LmsCourse[]
  /** False on the last page. */
  readonly hasNext: boolean
}
