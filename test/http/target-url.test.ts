import t from 'tap'
import { isAppError } from '../../src/errors.js'
import { parseTargetUrl } from '../../src/http/target-url.js'

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return isAppError(err) ? err.code : 'not-an-app-error'
  }
  return undefined
}

t.test('IPv4 literals written in disguise are refused in platform mode', async t => {
  for (const url of [
    'http://2130706433/', // decimal
    'http://017700000001/', // octal
    'http://0x7f000001/', // hex
    'http://0177.0.0.1/', // octal dotted
    'http://0x7f.0.0.1/', // hex dotted
    'http://127.1/', // short form
    'https://%31%32%37.0.0.1/', // percent-encoded
    'https://3232235777/', // 192.168.1.1
    'https://134744072/', // 8.8.8.8: a public address, still refused in disguise
  ]) {
    t.equal(codeOf(() => parseTargetUrl(url, true)), 'HTTP_OUT_ADDRESS_NOT_ALLOWED', url)
  }
})

t.test('canonical literals and names pass parsing (address policy decides later)', async t => {
  t.equal(parseTargetUrl('https://127.0.0.1:8443/x', true).host, '127.0.0.1')
  t.equal(parseTargetUrl('https://user-info-free.example.edu./x', true).host, 'user-info-free.example.edu')
  t.equal(parseTargetUrl('https://[::1]/', true).host, '::1')
  t.equal(parseTargetUrl('http://2130706433/', false).host, '127.0.0.1', 'trusted mode does not care')
})

t.test('schemes, credentials and garbage', async t => {
  t.equal(codeOf(() => parseTargetUrl('ftp://example.edu/', true)), 'HTTP_OUT_SCHEME_NOT_ALLOWED')
  t.equal(codeOf(() => parseTargetUrl('file:///etc/passwd', true)), 'HTTP_OUT_SCHEME_NOT_ALLOWED')
  t.equal(codeOf(() => parseTargetUrl('gopher://127.0.0.1:25/', true)), 'HTTP_OUT_SCHEME_NOT_ALLOWED')
  t.equal(codeOf(() => parseTargetUrl('https://user:pw@example.edu/', true)), 'HTTP_OUT_URL_INVALID')
  t.equal(codeOf(() => parseTargetUrl('not a url', true)), 'HTTP_OUT_URL_INVALID')
  t.equal(codeOf(() => parseTargetUrl('https://good.example\\@evil.example/', true)), undefined, 'backslash handled like WHATWG')
  t.equal(parseTargetUrl('https://good.example\\@evil.example/', true).host, 'good.example')
})
