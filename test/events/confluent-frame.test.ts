import t from 'tap'
import avsc from 'avsc'
import { readConfluentFrame, writeConfluentFrame } from '../../src/events/decode/confluent-frame.js'

// Published sample (kafka-testing.md §5): {id:"o-1", amount:12.5} with schema id 1.
const SAMPLE = Buffer.from('00' + '00000001' + '06' + '6f2d31' + '0000000000002940', 'hex')
const sampleType = avsc.Type.forSchema({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }, { name: 'amount', type: 'double' }] })

t.test('reads the published sample', async t => {
  const frame = readConfluentFrame(SAMPLE)
  t.equal(frame.schemaId, 1)
  t.same({ ...sampleType.fromBuffer(frame.body) }, { id: 'o-1', amount: 12.5 })
})

t.test('writes the published sample', async t => {
  t.equal(writeConfluentFrame(1, sampleType.toBuffer({ id: 'o-1', amount: 12.5 })).toString('hex'), SAMPLE.toString('hex'))
})

t.test('schema id is a big-endian uint32', async t => {
  t.equal(readConfluentFrame(Buffer.from('00010203040a', 'hex')).schemaId, 0x01020304)
  t.equal(readConfluentFrame(Buffer.from('00ffffffff', 'hex')).schemaId, 0xffffffff)
  t.equal(readConfluentFrame(Buffer.from('00ffffffff', 'hex')).body.length, 0, 'an empty body is left to the Avro decoder')
  t.equal(writeConfluentFrame(0xffffffff, Buffer.alloc(0)).toString('hex'), '00ffffffff')
  t.throws(() => writeConfluentFrame(-1, Buffer.alloc(0)), RangeError)
  t.throws(() => writeConfluentFrame(2 ** 32, Buffer.alloc(0)), RangeError)
  t.throws(() => writeConfluentFrame(1.5, Buffer.alloc(0)), RangeError)
})

t.test('wrong magic byte', async t => {
  t.throws(() => readConfluentFrame(Buffer.from('0100000001066f2d31', 'hex')), { code: 'EVENT_BAD_MAGIC', details: { magic: 1 } })
  // A JSON or plain-Avro producer on the topic: first byte is '{' or a varint.
  t.throws(() => readConfluentFrame(Buffer.from('{"user_id": 42}')), { code: 'EVENT_BAD_MAGIC' })
})

t.test('short or missing values', async t => {
  for (const hex of ['', '00', '00000000', '0000']) {
    t.throws(() => readConfluentFrame(Buffer.from(hex, 'hex')), { code: 'EVENT_TRUNCATED', details: { where: 'frame', length: hex.length / 2 } }, `${hex.length / 2} bytes`)
  }
  t.throws(() => readConfluentFrame(null), { code: 'EVENT_TRUNCATED' }, 'tombstone (null value)')
  t.throws(() => readConfluentFrame(undefined), { code: 'EVENT_TRUNCATED' })
  t.throws(() => readConfluentFrame(Buffer.from('01', 'hex')), { code: 'EVENT_TRUNCATED' }, 'length is checked before the magic byte')
})

t.test('the body is a view, not a copy', async t => {
  const value = Buffer.from('0000000007aabb', 'hex')
  const { body } = readConfluentFrame(value)
  value[5] = 0xcc
  t.equal(body[0], 0xcc)
})
