import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseIp, parseIpv4, parseIpv6 } from '../../src/http/ip-address.js'

// Vectors written by CPython's ipaddress module (RFC 4291 text forms and their packed bytes).
const vectors = JSON.parse(readFileSync(new URL('../fixtures/http/python-ipaddress-vectors.json', import.meta.url), 'utf8')) as {
  addresses: Array<{ text: string, exploded: string, packedHex: string }>
  parse: Array<{ text: string, packedHex: string }>
  invalid: string[]
}

const hex = (bytes: Uint8Array | undefined): string | undefined => bytes === undefined ? undefined : Buffer.from(bytes).toString('hex')

t.test('RFC 4291 text forms parse to the same bytes as CPython', async t => {
  for (const v of vectors.parse) t.equal(hex(parseIp(v.text)?.bytes), v.packedHex, v.text)
})

t.test('compressed and exploded forms of every vector address agree with CPython', async t => {
  for (const v of vectors.addresses) {
    t.equal(hex(parseIp(v.text)?.bytes), v.packedHex, v.text)
    t.equal(hex(parseIp(v.exploded)?.bytes), v.packedHex, v.exploded)
  }
})

t.test('forms CPython refuses are not addresses here either', async t => {
  for (const text of vectors.invalid) t.equal(parseIp(text), null, JSON.stringify(text))
})

t.test('loose IPv4 spellings accepted by inet_aton and WHATWG URL are refused', async t => {
  for (const text of ['0177.0.0.1', '0x7f.0.0.1', '2130706433', '127.1', '127.0.1', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4']) {
    t.equal(parseIpv4(text), null, text)
  }
})

t.test('IPv6 zone ids and brackets', async t => {
  t.equal(parseIpv6('fe80::1%eth0'), null, 'zone ids refused: they name a local interface')
  t.equal(hex(parseIpv6('[::1]')?.bytes), '00000000000000000000000000000001', 'URL brackets accepted')
  t.equal(parseIpv6('[::1'), null)
  t.equal(parseIpv6('1.2.3.4'), null, 'an IPv4 address is not IPv6 text')
})
