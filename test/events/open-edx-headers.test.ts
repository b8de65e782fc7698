import t from 'tap'
import { classifyMessage, parseOpenEdxHeaders, readEventType, type KafkaHeaders } from '../../src/events/decode/open-edx-headers.js'
import { WEIGHTED_SCORE_CHANGED_EVENT_TYPE } from '../../src/events/decode/event-type.js'
import { fixtureHeaders, loadEventBusFixtures } from '../support/event-bus-fixtures.js'

const [leaf] = loadEventBusFixtures().messages
const good = fixtureHeaders(leaf!)

function codeOf (headers: KafkaHeaders, eventType?: string): string {
  const c = classifyMessage(headers, eventType)
  return c.kind === 'error' ? c.error.code : c.kind
}

t.test('our event: every header decoded as UTF-8', async t => {
  const c = classifyMessage(good)
  t.equal(c.kind, 'ours')
  if (c.kind !== 'ours') return
  t.same(c.headers, {
    ce_type: WEIGHTED_SCORE_CHANGED_EVENT_TYPE,
    ce_id: '1f0c6a4e-8b2a-11f0-a5c1-000000000000',
    ce_source: 'openedx/lms/web',
    ce_time: '2026-11-20T10:15:30.123456+00:00',
    ce_minorversion: '0',
    sourcehost: 'lms-worker-1',
    sourcelib: '11.2.0',
    ce_specversion: '1.0',
    'content-type': 'application/avro',
    ce_datacontenttype: 'application/avro'
  })
})

t.test('string header values (kafkajs producers may pass strings) work too', async t => {
  const asStrings = Object.fromEntries(Object.entries(good).map(([k, v]) => [k, v.toString('utf8')]))
  t.equal(codeOf(asStrings), 'ours')
})

t.test('another event type is classified from ce_type alone', async t => {
  const other = { ce_type: Buffer.from('org.openedx.learning.course.passing.status.updated.v1') }
  t.same(classifyMessage(other), { kind: 'other-type', eventType: 'org.openedx.learning.course.passing.status.updated.v1' })
  // An upstream type whose name avsc refuses must still be skippable: nothing else is looked at.
  const dashed = { ...good, ce_type: Buffer.from('org.openedx.enterprise.subsidy.redemption-reversed.v1'), ce_id: [Buffer.from('a'), Buffer.from('b')] }
  t.equal(codeOf(dashed), 'other-type', 'duplicated ce_id of a foreign event is not our problem')
})

t.test('the event type is configurable', async t => {
  const custom = 'org.example.learning.problem.weighted_score.changed.v1'
  t.equal(codeOf(good, custom), 'other-type')
  t.equal(codeOf({ ...good, ce_type: Buffer.from(custom) }, custom), 'ours')
})

t.test('ce_type and ce_id must appear exactly once', async t => {
  const { ce_type: _type, ...noType } = good
  const { ce_id: _id, ...noId } = good
  t.equal(codeOf(noType), 'EVENT_MISSING_HEADER')
  t.equal(codeOf(noId), 'EVENT_MISSING_HEADER')
  t.equal(codeOf({}), 'EVENT_MISSING_HEADER')
  t.equal(codeOf({ ...good, ce_type: undefined }), 'EVENT_MISSING_HEADER', 'undefined counts as absent')
  t.equal(codeOf({ ...good, ce_type: [] }), 'EVENT_MISSING_HEADER', 'an empty list counts as absent')
  t.equal(codeOf({ ...good, ce_type: [good.ce_type!, good.ce_type!] }), 'EVENT_DUPLICATE_HEADER', 'same value twice is still a duplicate')
  t.equal(codeOf({ ...good, ce_id: [good.ce_id!, Buffer.from('other')] }), 'EVENT_DUPLICATE_HEADER')
  const c = classifyMessage({ ...good, ce_id: [good.ce_id!, good.ce_id!, good.ce_id!] })
  t.same(c.kind === 'error' && c.error.details, { header: 'ce_id', count: 3 })
})

t.test('metadata headers may be absent but not repeated (as upstream)', async t => {
  const { ce_time: _t, sourcehost: _h, sourcelib: _l, ce_source: _s, ce_minorversion: _m, ...minimal } = good
  const c = classifyMessage(minimal)
  t.equal(c.kind, 'ours')
  t.equal(c.kind === 'ours' && c.headers.ce_time, undefined)
  for (const name of ['ce_source', 'ce_time', 'ce_minorversion', 'sourcehost', 'sourcelib']) {
    t.equal(codeOf({ ...good, [name]: [Buffer.from('a'), Buffer.from('b')] }), 'EVENT_DUPLICATE_HEADER', name)
  }
})

t.test('the three constant headers are read leniently (upstream never reads them)', async t => {
  const c = classifyMessage({ ...good, 'content-type': [Buffer.from('application/avro'), Buffer.from('x')], ce_specversion: null, ce_datacontenttype: Buffer.from([0xff]) })
  t.equal(c.kind, 'ours')
  if (c.kind !== 'ours') return
  t.equal(c.headers['content-type'], 'application/avro', 'first value')
  t.equal(c.headers.ce_specversion, undefined, 'null value')
  t.equal(c.headers.ce_datacontenttype, undefined, 'bad UTF-8')
})

t.test('unusable values are EVENT_BAD_HEADER', async t => {
  t.equal(codeOf({ ...good, ce_type: Buffer.from([0xc3, 0x28]) }), 'EVENT_BAD_HEADER', 'invalid UTF-8 in ce_type')
  t.equal(codeOf({ ...good, ce_type: null }), 'EVENT_BAD_HEADER', 'null ce_type')
  t.equal(codeOf({ ...good, ce_id: Buffer.from([0xff, 0xfe]) }), 'EVENT_BAD_HEADER', 'invalid UTF-8 in ce_id')
  t.equal(codeOf({ ...good, ce_id: Buffer.from('') }), 'EVENT_BAD_HEADER', 'empty ce_id')
  t.equal(codeOf({ ...good, ce_id: Buffer.from('has space') }), 'EVENT_BAD_HEADER', 'ce_id with a space')
  t.equal(codeOf({ ...good, ce_id: Buffer.from('x'.repeat(129)) }), 'EVENT_BAD_HEADER', 'ce_id too long')
  t.equal(codeOf({ ...good, ce_id: Buffer.from('urn:uuid:' + 'a'.repeat(119)) }), 'ours', '128 characters are fine')
  t.equal(codeOf({ ...good, ce_time: null }), 'EVENT_BAD_HEADER', 'null metadata header')
  t.equal(codeOf({ ...good, sourcehost: Buffer.from([0x80]) }), 'EVENT_BAD_HEADER', 'bad UTF-8 in a metadata header')
})

t.test('header names are matched exactly', async t => {
  const { ce_type: type, ...rest } = good
  t.equal(codeOf({ ...rest, CE_TYPE: type }), 'EVENT_MISSING_HEADER')
  t.equal(codeOf({ ...rest, 'ce-type': type }), 'EVENT_MISSING_HEADER')
})

t.test('readEventType and parseOpenEdxHeaders throw the coded errors', async t => {
  t.equal(readEventType({ ce_type: 'x.y' }), 'x.y')
  t.throws(() => readEventType({}), { code: 'EVENT_MISSING_HEADER' })
  t.throws(() => parseOpenEdxHeaders({ ce_type: 'x.y' }), { code: 'EVENT_MISSING_HEADER', details: { header: 'ce_id' } })
  t.equal(parseOpenEdxHeaders({ ce_type: 'x.y', ce_id: 'abc' }).ce_id, 'abc')
})
