import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import t from 'tap'
import { buildDeleteResultRequest, buildReadResultRequest, buildReplaceResultRequest, formatOutcomeScore } from '../../../src/lti/v11/outcomes.js'
import { parseNamespacedXml } from '../../../src/lti/v11/namespaced-xml.js'

const vectorD = readFileSync(new URL('../../fixtures/lti11/vector-d-replace-result.xml', import.meta.url), 'utf8')
const NS = 'http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0'

t.test('replaceResult matches Vector D byte for byte', async t => {
  const xml = buildReplaceResultRequest({ messageIdentifier: 'msg-0001', sourcedId: 'src-1', score: 0.85 })
  t.equal(xml, vectorD)
  t.equal(Buffer.byteLength(xml), 587)
  t.not(buildReplaceResultRequest({ messageIdentifier: 'msg-0002', sourcedId: 'src-1', score: 0.85 }), vectorD, 'the message identifier is ours to choose')
})

t.test('readResult and deleteResult carry only the sourcedId', async t => {
  for (const [build, op] of [[buildReadResultRequest, 'readResultRequest'], [buildDeleteResultRequest, 'deleteResultRequest']] as const) {
    const xml = build({ messageIdentifier: 'm', sourcedId: 's' })
    t.equal(xml, vectorD.replace('msg-0001', 'm').replace('src-1', 's').replace(/<result>.*<\/result>/, '').replace(/replaceResultRequest/g, op))
  }
})

t.test('values are XML-escaped and round-trip through a parser', async t => {
  const sourcedId = 'course-v1%3AOrg%2BC1%2BR1:block@x:<&>"\'é'
  const xml = buildReplaceResultRequest({ messageIdentifier: 'a&b', sourcedId, score: 1 })
  t.match(xml, '<sourcedId>course-v1%3AOrg%2BC1%2BR1:block@x:&lt;&amp;&gt;&quot;&apos;é</sourcedId>')
  const root = parseNamespacedXml(xml)
  t.equal(root.ns, NS)
  const find = (el: typeof root, local: string): typeof root | undefined => el.local === local ? el : el.children.map(c => find(c, local)).find(Boolean)
  t.equal(find(root, 'sourcedId')?.text, sourcedId)
  t.equal(find(root, 'imsx_messageIdentifier')?.text, 'a&b')
  t.equal(find(root, 'textString')?.text, '1.0')
})

t.test('inputs XML cannot carry, or empty identifiers, are refused', async t => {
  t.throws(() => buildReplaceResultRequest({ messageIdentifier: 'm', sourcedId: 'a\u0001b', score: 0.5 }), { code: 'LTI11_BAD_OUTCOME_INPUT', details: { field: 'sourcedId' } })
  t.throws(() => buildReplaceResultRequest({ messageIdentifier: 'm', sourcedId: 'a\uD800', score: 0.5 }), { code: 'LTI11_BAD_OUTCOME_INPUT' })
  t.throws(() => buildReplaceResultRequest({ messageIdentifier: 'm', sourcedId: 'a\uFFFF', score: 0.5 }), { code: 'LTI11_BAD_OUTCOME_INPUT' })
  t.doesNotThrow(() => buildReplaceResultRequest({ messageIdentifier: 'm', sourcedId: 'tab\there\nand 😀', score: 0.5 }))
  t.throws(() => buildReplaceResultRequest({ messageIdentifier: '', sourcedId: 's', score: 0.5 }), { code: 'LTI11_BAD_OUTCOME_INPUT', details: { field: 'messageIdentifier' } })
  t.throws(() => buildReplaceResultRequest({ messageIdentifier: 'm', sourcedId: '', score: 0.5 }), { code: 'LTI11_BAD_OUTCOME_INPUT', details: { field: 'sourcedId' } })
})

t.test('score formatting: plain decimal in [0, 1]', async t => {
  t.equal(formatOutcomeScore(0.85), '0.85')
  t.equal(formatOutcomeScore(0), '0.0')
  t.equal(formatOutcomeScore(-0), '0.0')
  t.equal(formatOutcomeScore(1), '1.0')
  t.equal(formatOutcomeScore(1e-7), '0.0000001', 'never exponent notation')
  t.equal(formatOutcomeScore(2 / 3), '0.6666666667')
  t.equal(formatOutcomeScore(0.1 + 0.2), '0.3')
  for (const bad of [-0.01, 1.0000001, Number.NaN, Infinity, '0.5' as unknown as number]) {
    t.throws(() => formatOutcomeScore(bad), { code: 'LTI11_BAD_OUTCOME_INPUT', status: 422 }, String(bad))
  }
  fc.assert(fc.property(fc.double({ min: 0, max: 1, noNaN: true }), score => {
    const text = formatOutcomeScore(score)
    return /^[01]\.\d{1,10}$/.test(text) && Math.abs(Number(text) - score) <= 5e-11 && Number(text) >= 0 && Number(text) <= 1
  }), { numRuns: 2000 })
  t.pass('2000 random scores')
})
