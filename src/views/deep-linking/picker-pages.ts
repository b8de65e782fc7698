/**
 * The Deep Linking picker's pages, rendered on the server: a course list, a course outline with
 * search, and the message shown when the registration's content scope offers nothing. Every form
 * carries the signed selection token; nothing here is trusted when it comes back (the submission
 * is checked against the scope and the open selection again).
 */
import { escapeHtml } from '../html.js'
import { hiddenFields } from '../../lti/v13/html.js'
import type { OutlineNode } from '../../lms/course-catalog.js'
import { pickerPage } from './layout.js'

export interface PickerPaths { courses: string, outline: string, submit: string, cancel: string }

export interface PickerContext {
  nonce: string
  token: string
  paths: PickerPaths
  /** The platform course the activity goes into, when it said. */
  contextTitle: string | undefined
  acceptMultiple: boolean
}

const TYPE_NAMES: Record<string, string> = {
  chapter: 'Section',
  sequential: 'Subsection',
  vertical: 'Unit',
  problem: 'Problem',
  html: 'Text',
  video: 'Video'
}

function typeName (type: string): string {
  return TYPE_NAMES[type] ?? type
}

function heading (ctx: PickerContext): string {
  return ctx.contextTitle === undefined || ctx.contextTitle === ''
    ? 'Select Open edX content'
    : `Select Open edX content for ${ctx.contextTitle}`
}

function cancelForm (ctx: PickerContext): string {
  return `<form method="post" action="${escapeHtml(ctx.paths.cancel)}">
${hiddenFields({ selection: ctx.token })}
<button type="submit">Cancel</button>
</form>`
}

/** Fail closed: nothing in scope means nothing to pick, and the instructor learns who can change that. */
export function nothingInScopePage (ctx: PickerContext, reason: 'empty-scope' | 'no-courses'): string {
  const why = reason === 'empty-scope'
    ? 'This learning platform has not been given access to any Open edX content yet.'
    : 'None of the Open edX courses this learning platform may use is available right now.'
  return pickerPage({
    title: 'No Open edX content available',
    nonce: ctx.nonce,
    body: `<h1>${escapeHtml(heading(ctx))}</h1>
<p class="note" role="status">${escapeHtml(why)} Ask the administrator of the Open edX LTI tool (whoever registered this platform with it) to add the courses you need to this platform's content scope.</p>
<div class="bar">${cancelForm(ctx)}</div>`
  })
}

export function coursesPage (ctx: PickerContext, courses: ReadonlyArray<{ id: string, name: string }>): string {
  const items = courses.map((course, i) => `<li><form method="post" action="${escapeHtml(ctx.paths.outline)}">
${hiddenFields({ selection: ctx.token, course: course.id })}
<button type="submit" id="course-${i}" aria-describedby="course-${i}-key">${escapeHtml(course.name)}</button>
<span class="meta" id="course-${i}-key">${escapeHtml(course.id)}</span>
</form></li>`).join('\n')
  return pickerPage({
    title: 'Choose a course',
    nonce: ctx.nonce,
    body: `<h1>${escapeHtml(heading(ctx))}</h1>
<p>Choose the Open edX course that holds the content.</p>
<ul class="courses" aria-label="Courses">
${items}
</ul>
<div class="bar">${cancelForm(ctx)}
<form method="post" action="${escapeHtml(ctx.paths.courses)}" target="_blank">
${hiddenFields({ selection: ctx.token })}
<button type="submit">Open in a new window</button>
</form></div>`
  })
}

export interface OutlineView {
  courseKey: string
  courseName: string
  nodes: readonly OutlineNode[]
  /** Keys the instructor may pick (selectable type and in scope). */
  selectable: (node: OutlineNode) => boolean
  query: string
}

function meta (node: OutlineNode): string {
  const parts = [`<span class="kind">${escapeHtml(typeName(node.type))}</span>`]
  if (node.graded && node.scoreMaximum > 0) parts.push(`<span class="graded">graded</span>, weight ${escapeHtml(String(node.scoreMaximum))}`)
  else if (node.scoreMaximum > 0) parts.push(`ungraded, ${escapeHtml(String(node.scoreMaximum))} points`)
  return parts.join(' · ')
}

/** Blocks whose title matches the query, with their ancestors (so a match keeps its place). */
function filtered (nodes: readonly OutlineNode[], query: string): readonly OutlineNode[] {
  const q = query.trim().toLocaleLowerCase()
  if (q === '') return nodes
  const parents = new Map(nodes.map(n => [n.key, n.parent]))
  const keep = new Set<string>()
  for (const node of nodes) {
    if (!node.title.toLocaleLowerCase().includes(q)) continue
    let key: string | null = node.key
    while (key !== null && !keep.has(key)) {
      keep.add(key)
      key = parents.get(key) ?? null
    }
  }
  return nodes.filter(n => keep.has(n.key))
}

export function outlinePage (ctx: PickerContext, view: OutlineView): string {
  const nodes = filtered(view.nodes, view.query)
  const inputType = ctx.acceptMultiple ? 'checkbox' : 'radio'
  const out: string[] = []
  let depth = 0
  let open = 0
  nodes.forEach((node, i) => {
    if (node.depth > depth) {
      for (let d = depth; d < node.depth; d++) { out.push(open === 0 ? '<ul class="outline" aria-label="Course outline">' : '<ul>'); open++ }
    } else {
      out.push('</li>')
      for (let d = node.depth; d < depth; d++) { out.push('</ul></li>'); open-- }
    }
    depth = node.depth
    const id = `b${i}`
    const described = `<span class="meta" id="${id}-m">${meta(node)}</span>`
    out.push(view.selectable(node)
      ? `<li><input type="${inputType}" name="usage" value="${escapeHtml(node.key)}" id="${id}" aria-describedby="${id}-m"> <label for="${id}">${escapeHtml(node.title || typeName(node.type))}</label>${described}`
      : `<li><span>${escapeHtml(node.title || typeName(node.type))}</span>${described}`)
  })
  if (nodes.length > 0) {
    out.push('</li>')
    for (; open > 1; open--) out.push('</ul></li>')
    out.push('</ul>')
  }
  const count = view.query.trim() === '' ? '' : `<p role="status">${nodes.length === 0 ? 'No block title matches' : `Blocks matching`} “${escapeHtml(view.query.trim())}”.</p>`
  const how = ctx.acceptMultiple ? 'Tick every unit, subsection or component to add.' : 'Choose one unit, subsection or component to add.'
  return pickerPage({
    title: `${view.courseName}: choose content`,
    nonce: ctx.nonce,
    body: `<h1>${escapeHtml(heading(ctx))}</h1>
<p>Course: <strong>${escapeHtml(view.courseName)}</strong> <span class="meta">${escapeHtml(view.courseKey)}</span></p>
<form method="post" action="${escapeHtml(ctx.paths.outline)}" role="search" class="bar">
${hiddenFields({ selection: ctx.token, course: view.courseKey })}
<label for="q">Search by title</label>
<input type="search" id="q" name="q" value="${escapeHtml(view.query)}">
<button type="submit">Search</button>
</form>
${count}
<form method="post" action="${escapeHtml(ctx.paths.submit)}" id="pick">
${hiddenFields({ selection: ctx.token, course: view.courseKey })}
<fieldset><legend>${escapeHtml(how)}</legend>
${out.join('\n')}
</fieldset>
<div class="bar"><button type="submit" class="primary">Add to the course</button></div>
</form>
<div class="bar">
<form method="post" action="${escapeHtml(ctx.paths.courses)}">
${hiddenFields({ selection: ctx.token })}
<button type="submit">Back to the courses</button>
</form>
${cancelForm(ctx)}
</div>`
  })
}

/** The answer page: the signed response, posted to the platform by itself (or by hand without scripts). */
export function returnPage (opts: { nonce: string, returnUrl: string, jwt: string, cancelled: boolean }): string {
  return pickerPage({
    title: opts.cancelled ? 'Selection cancelled' : 'Adding the content',
    nonce: opts.nonce,
    body: `<h1>${opts.cancelled ? 'Returning to your course' : 'Adding the content to your course'}</h1>
<form action="${escapeHtml(opts.returnUrl)}" method="post" id="answer">
${hiddenFields({ JWT: opts.jwt })}
<p>If nothing happens, <button type="submit">continue</button>.</p>
</form>`,
    script: 'document.getElementById("answer").submit()'
  })
}
