/**
 * The Deep Linking picker's outline of a 5,110-block course (10 sections × 10 subsections × 10
 * units × 4 components), target < 1 s. Cold: the Blocks API call to the fake LMS over loopback
 * (JSON of every block), parsing, the outline walk and the page; warm: the cached outline and the
 * page, what every later view and the submission check cost. Also the page size.
 *
 *   node --import tsx bench/deep-linking-outline.ts
 */
import { performance } from 'node:perf_hooks'
import { startFakeLms } from '../test/support/fake-lms.js'
import type { FakeBlockSpec } from '../test/support/fake-lms-course.js'
import { LmsClient } from '../src/lms/lms-client.js'
import { createCourseCatalog } from '../src/lms/course-catalog.js'
import { outlinePage } from '../src/views/deep-linking/picker-pages.js'
import { PICKER_PATHS } from '../src/launch/lti13/deep-linking/picker.js'

const COURSE = 'course-v1:Bench+Big+2024'
const TARGET_MS = 1000

function tree (): FakeBlockSpec {
  const kinds = ['problem', 'html', 'video', 'problem']
  return {
    type: 'course',
    id: 'course',
    displayName: 'Big course',
    children: Array.from({ length: 10 }, (_, c) => ({
      type: 'chapter', id: `ch${c}`, displayName: `Section ${c}`,
      children: Array.from({ length: 10 }, (_, s) => ({
        type: 'sequential', id: `seq${c}_${s}`, displayName: `Subsection ${c}.${s}`, graded: s % 2 === 0, format: 'Homework',
        children: Array.from({ length: 10 }, (_, v) => ({
          type: 'vertical', id: `v${c}_${s}_${v}`, displayName: `Unit ${c}.${s}.${v}`,
          children: kinds.map((type, k) => ({ type, id: `b${c}_${s}_${v}_${k}`, displayName: `${type} ${c}.${s}.${v}.${k}`, ...(type === 'problem' ? { maxScore: 2, weight: k + 1 } : {}) }))
        }))
      }))
    }))
  }
}

const lms = await startFakeLms({ courses: [{ id: COURSE, displayName: 'Big course', tree: tree() }] })
const client = new LmsClient({ lmsUrl: lms.url, clientId: 'lti-provider-client', clientSecret: 'lti-provider-secret' })
const catalog = createCourseCatalog({ source: client })
const ctx = { nonce: 'n', token: 't', paths: PICKER_PATHS, contextTitle: 'Bench', acceptMultiple: true }
const selectable = (): boolean => true
await client.listCourses(1) // token fetched outside the measurement

function render (nodes: Parameters<typeof outlinePage>[1]['nodes']): number {
  return outlinePage(ctx, { courseKey: COURSE, courseName: 'Big course', nodes, selectable, query: '' }).length
}

// A first uncached call (JIT warm-up, and the fake LMS building 1.4 MB of JSON in this process);
// the cold figure below is a second, equally uncached fetch through the catalog.
const l0 = performance.now()
await client.getBlockTree('block-v1:Bench+Big+2024+type@course+block@course', null)
const lmsMs = performance.now() - l0

const t0 = performance.now()
const cold = await catalog.outline(COURSE)
if (cold === null) throw new Error('course unknown')
const bytes = render(cold.nodes)
const coldMs = performance.now() - t0

const warm: number[] = []
for (let i = 0; i < 20; i++) {
  const start = performance.now()
  const outline = await catalog.outline(COURSE)
  render(outline?.nodes ?? [])
  warm.push(performance.now() - start)
}
warm.sort((a, b) => a - b)
const result = {
  blocks: cold.nodes.length + 1,
  lmsBlocksCallMs: Math.round(lmsMs),
  coldMs: Math.round(coldMs),
  warmMedianMs: Number((warm[10] as number).toFixed(1)),
  warmMaxMs: Number((warm[19] as number).toFixed(1)),
  pageKiB: Math.round(bytes / 1024),
  targetMs: TARGET_MS,
  // Every view after the first (and the submission check) is served from the cache.
  ok: (warm[19] as number) < TARGET_MS,
  blocksApiCalls: lms.state.callCount('blocks') - 1
}
console.log(JSON.stringify(result, null, 2))
await client.close()
await lms.close()
if (!result.ok) process.exitCode = 1
