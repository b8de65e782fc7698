import { readFileSync } from 'node:fs'
import t from 'tap'
import { LEGACY_POX_NAMESPACE, outcomeDelivered, parsePoxResponse, requireOutcomeDelivered } from '../../../src/lti/v11/pox-response.js'

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/lti11/${name}`, import.meta.url), 'utf8')
const NS = 'http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0'

/** A compact response with a given status block and body, for the hostile variations. */
function response (status: string, opts: { root?: string, body?: string, before?: string } = {}): string {
  const root = opts.root ?? `imsx_POXEnvelopeResponse xmlns="${NS}"`
  const rootName = root.split(' ')[0] as string
  return `${opts.before ?? '<?xml version="1.0" encoding="UTF-8"?>'}<${root}><imsx_POXHeader><imsx_POXResponseHeaderInfo><imsx_version>V1.0</imsx_version>` +
    `<imsx_messageIdentifier>r-1</imsx_messageIdentifier><imsx_statusInfo>${status}</imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader>` +
    `<imsx_POXBody>${opts.body ?? '<replaceResultResponse/>'}</imsx_POXBody></${rootName}>`
}
const success = '<imsx_codeMajor>success</imsx_codeMajor><imsx_severity>status</imsx_severity><imsx_description>ok</imsx_description><imsx_messageRefIdentifier>m-1</imsx_messageRefIdentifier><imsx_operationRefIdentifier>replaceResult</imsx_operationRefIdentifier>'

t.test('Open edX success (leading newline, `xmlns = "…"`, empty messageRefIdentifier)', async t => {
  const parsed = parsePoxResponse(fixture('pox-openedx-success.xml'))
  t.same(parsed, {
    codeMajor: 'success', severity: 'status', description: 'Score for src-1 is now 0.85', messageIdentifier: 'msg-0001',
    messageRefIdentifier: undefined, operationRefIdentifier: undefined, bodyElement: 'replaceResultResponse', resultScore: undefined, success: true
  })
  t.equal(outcomeDelivered(200, parsed), true)
  t.equal(outcomeDelivered(500, parsed), false, 'HTTP status counts too')
  t.equal(requireOutcomeDelivered(200, Buffer.from(fixture('pox-openedx-success.xml'))).success, true, 'bytes work as well as text')
})

t.test('Open edX failure and unsupported are answers, not exceptions, until delivery is required', async t => {
  const failure = parsePoxResponse(fixture('pox-openedx-user-not-found.xml'))
  t.match(failure, { codeMajor: 'failure', description: 'User not found.', success: false, bodyElement: undefined })
  t.equal(outcomeDelivered(200, failure), false)
  t.throws(() => requireOutcomeDelivered(200, fixture('pox-openedx-user-not-found.xml')), {
    code: 'LTI11_OUTCOME_REJECTED', status: 502, details: { httpStatus: 200, codeMajor: 'failure', severity: 'status', description: 'User not found.' }
  })
  t.match(parsePoxResponse(fixture('pox-openedx-unsupported.xml')), { codeMajor: 'unsupported', success: false })
  for (const code of ['processing', 'Success', ' failure ', '']) {
    t.equal(parsePoxResponse(response(`<imsx_codeMajor>${code}</imsx_codeMajor>`)).success, false, JSON.stringify(code))
  }
  t.throws(() => requireOutcomeDelivered(503, fixture('pox-openedx-success.xml')), { code: 'LTI11_OUTCOME_REJECTED', details: { httpStatus: 503 } })
})

t.test('Moodle success and a readResult answer', async t => {
  t.match(parsePoxResponse(fixture('pox-moodle-success.xml')), { success: true, messageRefIdentifier: 'msg-0001', operationRefIdentifier: 'replaceResultRequest' })
  const read = parsePoxResponse(response(success, { body: '<readResultResponse><result><resultScore><language>en</language><textString> 0.5 </textString></resultScore></result></readResultResponse>' }))
  t.match(read, { bodyElement: 'readResultResponse', resultScore: '0.5' })
})

t.test('namespaces are resolved, then matched exactly', async t => {
  const prefixed = response('<ims:imsx_codeMajor>success</ims:imsx_codeMajor>', { root: `ims:imsx_POXEnvelopeResponse xmlns:ims="${NS}"` })
    .replace(/<(\/?)imsx_(POXHeader|POXResponseHeaderInfo|version|messageIdentifier|statusInfo|POXBody)>/g, '<$1ims:imsx_$2>').replace('<replaceResultResponse/>', '<ims:replaceResultResponse/>')
  t.equal(parsePoxResponse(prefixed).success, true, 'a prefix bound to the IMS namespace is the same namespace')
  t.throws(() => parsePoxResponse(response(success, { root: 'imsx_POXEnvelopeResponse' })), { code: 'LTI11_OUTCOME_RESPONSE_BAD_NAMESPACE' }, 'no namespace')
  t.throws(() => parsePoxResponse(response(success, { root: `imsx_POXEnvelopeResponse xmlns="${NS}/"` })), { code: 'LTI11_OUTCOME_RESPONSE_BAD_NAMESPACE' }, 'almost the namespace')
  t.throws(() => parsePoxResponse(response(success, { root: `imsx_POXEnvelopeResponse xmlns="${LEGACY_POX_NAMESPACE}"` })), { code: 'LTI11_OUTCOME_RESPONSE_BAD_NAMESPACE', status: 502 }, 'legacy namespace by default')
  t.equal(parsePoxResponse(response(success, { root: `imsx_POXEnvelopeResponse xmlns="${LEGACY_POX_NAMESPACE}"` }), { namespaces: [NS, LEGACY_POX_NAMESPACE] }).success, true, 'legacy namespace when allowed')
  t.throws(() => parsePoxResponse(response(success, { root: `x:imsx_POXEnvelopeResponse xmlns="${NS}" xmlns:x="urn:other"` })), { code: 'LTI11_OUTCOME_RESPONSE_BAD_NAMESPACE' }, 'a prefix bound elsewhere')
  // The header redeclared into another namespace: the codeMajor found is not the IMS one.
  const redeclared = response(success).replace('<imsx_POXHeader>', '<imsx_POXHeader xmlns="urn:evil">')
  t.throws(() => parsePoxResponse(redeclared), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'no imsx_POXHeader' } })
  t.throws(() => parsePoxResponse(response(success).replace('<imsx_POXHeader>', '<u:imsx_POXHeader>').replace('</imsx_POXHeader>', '</u:imsx_POXHeader>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED' }, 'undeclared prefix')
  t.throws(() => parsePoxResponse(response(success, { root: 'imsx_POXRequest xmlns="' + NS + '"' })), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'not an imsx_POXEnvelopeResponse' } })
})

t.test('exactly one imsx_codeMajor, at its place', async t => {
  t.throws(() => parsePoxResponse(response('<imsx_severity>status</imsx_severity>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'no imsx_codeMajor' } })
  t.throws(() => parsePoxResponse(response('<imsx_codeMajor>failure</imsx_codeMajor><imsx_codeMajor>success</imsx_codeMajor>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'several imsx_codeMajor' } })
  t.throws(() => parsePoxResponse(response('<imsx_codeMajor>failure</imsx_codeMajor>', { body: '<imsx_codeMajor>success</imsx_codeMajor>' })), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'several imsx_codeMajor' } }, 'a second one smuggled in the body')
  t.throws(() => parsePoxResponse(response('<x:imsx_codeMajor xmlns:x="urn:other">success</x:imsx_codeMajor>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED' }, 'one in another namespace does not count as the IMS one')
  t.throws(() => parsePoxResponse(response('<imsx_severity>status</imsx_severity>', { body: '<imsx_codeMajor>success</imsx_codeMajor>' })), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'no imsx_codeMajor' } }, 'the only one is in the wrong place')
  t.throws(() => parsePoxResponse(response(success + '<imsx_codeMajor/>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED' }, 'an empty second one')
})

t.test('entities: only the predefined ones and character references, decoded once', async t => {
  t.equal(parsePoxResponse(response('<imsx_codeMajor>succ&#101;ss</imsx_codeMajor><imsx_description>a &amp;lt; b &lt;&#x1F600;</imsx_description>')).description, 'a &lt; b <😀')
  t.equal(parsePoxResponse(response('<imsx_codeMajor><![CDATA[success]]></imsx_codeMajor>')).success, true, 'CDATA is literal text')
  t.throws(() => parsePoxResponse(response('<imsx_codeMajor>&success;</imsx_codeMajor>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED' }, 'undeclared entity')
  t.throws(() => parsePoxResponse(response('<imsx_codeMajor>success</imsx_codeMajor><imsx_description>&#0;</imsx_description>')), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED' }, 'NUL reference')
})

t.test('hostile documents are refused before any parsing', async t => {
  const billionLaughs = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol9 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>' +
    `<imsx_POXEnvelopeResponse xmlns="${NS}"><imsx_description>&lol9;</imsx_description></imsx_POXEnvelopeResponse>`
  t.throws(() => parsePoxResponse(billionLaughs), { code: 'LTI11_OUTCOME_RESPONSE_DOCTYPE', status: 502 }, 'billion laughs')
  const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' + response(`<imsx_codeMajor>success</imsx_codeMajor><imsx_description>&xxe;</imsx_description>`, { before: '' })
  t.throws(() => parsePoxResponse(xxe), { code: 'LTI11_OUTCOME_RESPONSE_DOCTYPE' }, 'external entity')
  t.throws(() => parsePoxResponse('<!DOCTYPE html><html></html>'), { code: 'LTI11_OUTCOME_RESPONSE_DOCTYPE' }, 'an HTML error page')
  t.throws(() => parsePoxResponse(response(success, { before: '<?xml version="1.0"?><!doctype x SYSTEM "http://evil/">' })), { code: 'LTI11_OUTCOME_RESPONSE_DOCTYPE' }, 'lower case')
  t.throws(() => parsePoxResponse(response(success, { before: '<?xml version="1.0"?><!-- <!ENTITY x "y"> -->' })), { code: 'LTI11_OUTCOME_RESPONSE_DOCTYPE' }, 'even inside a comment')
  t.equal(parsePoxResponse(response(success, { before: '<?xml version="1.0"?><!-- a comment -->' })).success, true, 'plain comments are fine')

  const huge = response(success, { body: `<replaceResultResponse>${'A'.repeat(10 * 1024 * 1024)}</replaceResultResponse>` })
  t.throws(() => parsePoxResponse(huge), { code: 'LTI11_OUTCOME_RESPONSE_TOO_LARGE', status: 502 }, '10 MB string')
  t.throws(() => parsePoxResponse(Buffer.alloc(10 * 1024 * 1024, 0x41)), { code: 'LTI11_OUTCOME_RESPONSE_TOO_LARGE' }, '10 MB bytes')
  const justOver = response(success, { body: `<replaceResultResponse>${'é'.repeat(33 * 1024)}</replaceResultResponse>` })
  t.ok(justOver.length < 65536 && Buffer.byteLength(justOver) > 65536)
  t.throws(() => parsePoxResponse(justOver), { code: 'LTI11_OUTCOME_RESPONSE_TOO_LARGE' }, 'the cap is in bytes, not characters')
  t.throws(() => parsePoxResponse(fixture('pox-openedx-success.xml'), { maxBytes: 100 }), { code: 'LTI11_OUTCOME_RESPONSE_TOO_LARGE' })
})

t.test('not XML, or not well-formed', async t => {
  for (const [label, body] of [
    ['empty', ''],
    ['JSON', '{"ok":true}'],
    ['HTML', '<html><body><p>Bad Gateway</body></html>'],
    ['unclosed', response(success).slice(0, -10)],
    ['two roots', response(success) + response(success, { before: '' })],
    ['text after the root', response(success) + 'trailing'],
    ['duplicate attribute', response(success, { root: `imsx_POXEnvelopeResponse xmlns="${NS}" a="1" a="2"` })],
    ['reserved JS name', response(success, { body: '<__proto__/>' })],
    ['5 000 nested elements', response(success, { body: '<a>'.repeat(5000) + '</a>'.repeat(5000) })],
    ['named entity from HTML', response('<imsx_codeMajor>success</imsx_codeMajor><imsx_description>&nbsp;</imsx_description>')]
  ] as const) {
    t.throws(() => parsePoxResponse(body), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', status: 502 }, label)
  }
  t.throws(() => parsePoxResponse(Buffer.from([0x3c, 0x61, 0xff, 0x3e])), { code: 'LTI11_OUTCOME_RESPONSE_MALFORMED', details: { reason: 'not UTF-8' } })
  t.equal(parsePoxResponse('\uFEFF' + response(success)).success, true, 'a BOM is tolerated')
})
