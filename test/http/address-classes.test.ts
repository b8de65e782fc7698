import { readFileSync } from 'node:fs'
import t from 'tap'
import { classifyAddress, type AddressClass } from '../../src/http/address-classes.js'

t.test('one address per refused class', async t => {
  const cases: Array<[string, AddressClass]> = [
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['::ffff:127.0.0.1', 'ipv4-mapped'],
    ['::ffff:7f00:1', 'ipv4-mapped'],
    ['::ffff:8.8.8.8', 'ipv4-mapped'],
    ['192.0.2.1', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
    ['not-an-ip', 'invalid'],
    ['2130706433', 'invalid'],
  ]
  for (const [address, cls] of cases) t.equal(classifyAddress(address), cls, address)
})

t.test('IPv4 hidden inside NAT64 and 6to4 prefixes is judged by the embedded address', async t => {
  t.equal(classifyAddress('64:ff9b::7f00:1'), 'loopback')
  t.equal(classifyAddress('64:ff9b::10.0.0.1'), 'private')
  t.equal(classifyAddress('2002:a9fe:a9fe::1'), 'metadata', '6to4 of 169.254.169.254')
  t.equal(classifyAddress('64:ff9b::808:808'), null, 'NAT64 of a public address is public')
  t.equal(classifyAddress('2002:808:808::1'), null, '6to4 of a public address is public')
})

t.test('range boundaries', async t => {
  t.equal(classifyAddress('172.15.255.255'), null)
  t.equal(classifyAddress('172.32.0.0'), null)
  t.equal(classifyAddress('100.63.255.255'), null)
  t.equal(classifyAddress('100.128.0.0'), null)
  t.equal(classifyAddress('169.254.169.253'), 'link-local')
  t.equal(classifyAddress('11.0.0.0'), null)
  t.equal(classifyAddress('9.255.255.255'), null)
  t.equal(classifyAddress('fbff:ffff::1'), 'reserved', 'outside 2000::/3 is never public unicast')
  t.equal(classifyAddress('2606:4700:4700::1111'), null)
})

// Oracle: CPython's ipaddress (IANA special-purpose registries). Everything CPython calls
// non-global must be refused here. We are deliberately stricter in a few places, listed below.
const vectors = JSON.parse(readFileSync(new URL('../fixtures/http/python-ipaddress-vectors.json', import.meta.url), 'utf8')) as {
  addresses: Array<{ text: string, isGlobal: boolean, isMulticast: boolean }>
}

t.test('every address CPython calls non-global is refused', async t => {
  const nonGlobal = vectors.addresses.filter(v => !v.isGlobal)
  t.ok(nonGlobal.length > 60, 'the fixture exercises many special ranges')
  for (const v of nonGlobal) t.not(classifyAddress(v.text), null, v.text)
})

t.test('addresses CPython calls global are accepted unless a stricter rule names them', async t => {
  const outsideGlobalUnicast = (text: string): boolean => {
    if (!text.includes(':')) return false
    const [first = '', second = ''] = text.split(':')
    const hextet = parseInt(first === '' ? '0' : first, 16)
    const documentation = hextet === 0x3fff && parseInt(second === '' ? '0' : second, 16) < 0x1000 // 3fff::/20
    return hextet < 0x2000 || hextet > 0x3fff || documentation
  }
  const stricter = (text: string, isMulticast: boolean): boolean =>
    isMulticast ||
    text.startsWith('192.0.0.') || // all of 192.0.0.0/24 (IETF protocol assignments)
    text.startsWith('192.88.99.') || // deprecated 6to4 relay anycast
    text.startsWith('::ffff:') || // IPv4-mapped never accepted from DNS
    text.startsWith('64:ff9b:') || // judged by the embedded IPv4
    text.startsWith('2002:') || // judged by the embedded IPv4
    outsideGlobalUnicast(text)
  const global = vectors.addresses.filter(v => v.isGlobal && !stricter(v.text, v.isMulticast))
  t.ok(global.length > 300, 'the fixture has many public addresses')
  for (const v of global) t.equal(classifyAddress(v.text), null, v.text)
})
