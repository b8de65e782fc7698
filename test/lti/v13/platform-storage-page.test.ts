/**
 * The platform-storage pages are executed here in a node:vm sandbox with a scripted platform
 * window, so the postMessage protocol, the origin checks and the auto-submit are tested as code,
 * not as strings.
 */
import t from 'tap'
import { runInNewContext } from 'node:vm'
import { webcrypto } from 'node:crypto'
import {
  STORAGE_BINDING_FIELD, bindingStorageKey, renderLaunchStoragePage, renderLoginStoragePage, renderStorageGetPage
} from '../../../src/lti/v13/platform-storage-page.js'
import { parseAutoSubmitForm } from '../../support/fake-lti13-platform.js'

const PLATFORM = 'https://lms.example.test'

interface Posted { to: string, message: Record<string, unknown>, targetOrigin: string }
type Reply = { origin?: string, data: unknown } | null

interface Sandbox {
  posted: Posted[]
  submitted: Promise<Record<string, string>>
}

/**
 * Runs the page. `answer(to, message)` plays the platform: it returns what the window named `to`
 * sends back (or null for silence).
 */
function run (html: string, answer: (to: string, message: Record<string, any>) => Reply | Reply[], options: { opener?: boolean } = {}): Sandbox {
  const config = /<script type="application\/json" id="lti-storage-config">([\s\S]*?)<\/script>/.exec(html)?.[1] as string
  const scripts = [...html.matchAll(/<script(?: nonce="[^"]*")?>([\s\S]*?)<\/script>/g)]
  const code = scripts[scripts.length - 1]?.[1] as string
  const form = parseAutoSubmitForm(html)
  const posted: Posted[] = []
  const listeners: Array<(event: { origin: string, data: unknown }) => void> = []
  let submit!: (fields: Record<string, string>) => void
  const submitted = new Promise<Record<string, string>>(resolve => { submit = resolve })
  const elements = Object.entries(form.fields).map(([name, value]) => ({ name, value }))
  const makeWindow = (name: string): any => ({
    frames: {} as Record<string, unknown>,
    postMessage (message: Record<string, unknown>, targetOrigin: string) {
      const copy = JSON.parse(JSON.stringify(message))
      posted.push({ to: name, message: copy, targetOrigin })
      const replies = answer(name, copy)
      for (const reply of Array.isArray(replies) ? replies : [replies]) {
        if (reply === null) continue
        setImmediate(() => { for (const l of listeners) l({ origin: reply.origin ?? PLATFORM, data: reply.data }) })
      }
    }
  })
  const platformWindow = makeWindow('platform')
  platformWindow.frames.post_message_forwarding = makeWindow('post_message_forwarding')
  const window = {
    opener: options.opener === true ? platformWindow : null,
    parent: platformWindow,
    crypto: webcrypto,
    addEventListener (type: string, fn: (event: { origin: string, data: unknown }) => void) { if (type === 'message') listeners.push(fn) }
  }
  const document = {
    getElementById (id: string) {
      if (id === 'lti-storage-config') return { textContent: config }
      return {
        elements,
        submit () { submit(Object.fromEntries(elements.map(e => [e.name, e.value]))) }
      }
    }
  }
  // Once the form is submitted the page is gone: its remaining timers (the safety net) are cleared.
  const timers = new Set<NodeJS.Timeout>()
  const pageSetTimeout = (fn: () => void, ms: number): NodeJS.Timeout => {
    const handle = setTimeout(() => { timers.delete(handle); fn() }, ms)
    timers.add(handle)
    return handle
  }
  submitted.then(() => { for (const handle of timers) clearTimeout(handle) }, () => {})
  runInNewContext(code, { window, document, setTimeout: pageSetTimeout, clearTimeout })
  return { posted, submitted }
}

/** A conforming platform with a storage map, answering on the frame it advertises. */
function platform (store: Map<string, string>, options: { frame?: string, prefix?: string } = {}) {
  const prefix = options.prefix ?? ''
  return (to: string, m: Record<string, any>): Reply => {
    if (m.subject === 'lti.capabilities') {
      const frame = options.frame === undefined ? {} : { frame: options.frame }
      return { data: { subject: 'lti.capabilities.response', message_id: m.message_id, supported_messages: [{ subject: `${prefix}lti.put_data`, ...frame }, { subject: `${prefix}lti.get_data`, ...frame }] } }
    }
    if (m.subject === `${prefix}lti.put_data`) {
      store.set(m.key, m.value)
      return { data: { subject: `${prefix}lti.put_data.response`, message_id: m.message_id, key: m.key, value: m.value } }
    }
    if (m.subject === `${prefix}lti.get_data`) {
      const value = store.get(m.key)
      return value === undefined
        ? { data: { subject: `${prefix}lti.get_data.response`, message_id: m.message_id, key: m.key, error: { code: 'key_not_found', message: 'no' } } }
        : { data: { subject: `${prefix}lti.get_data.response`, message_id: m.message_id, key: m.key, value } }
    }
    return null
  }
}

const authUrl = `${PLATFORM}/api/lti_consumer/v1/launch/?scope=openid&state=s.t.u&lti_message_hint=a%2Bb`

t.test('login page: puts the binding in the advertised frame, then GETs the auth endpoint with its query as fields', async t => {
  const store = new Map<string, string>()
  const html = renderLoginStoragePage({
    storage: { frame: '_parent', targetOrigin: `${PLATFORM}/some/path` }, stateId: 'sid123', binding: 'bind-secret', redirectUrl: authUrl
  })
  const form = parseAutoSubmitForm(html)
  t.equal(form.action, `${PLATFORM}/api/lti_consumer/v1/launch/`)
  t.equal(form.method, 'GET')
  const page = run(html, platform(store, { frame: 'post_message_forwarding' }))
  const fields = await page.submitted
  t.same(fields, { scope: 'openid', state: 's.t.u', lti_message_hint: 'a+b' })
  t.equal(store.get(bindingStorageKey('sid123')), 'bind-secret')
  t.same(page.posted.map(p => [p.to, p.message.subject, p.targetOrigin]), [
    ['platform', 'lti.capabilities', PLATFORM],
    ['post_message_forwarding', 'lti.put_data', PLATFORM]
  ], 'capabilities to the parent, data to the advertised frame, always to the platform origin')
  t.not(page.posted[0]?.message.message_id, page.posted[1]?.message.message_id)
})

t.test('launch page: reads the binding back and POSTs it with id_token and state', async t => {
  const store = new Map([[bindingStorageKey('sid9'), 'bind-9']])
  const html = renderLaunchStoragePage({
    storage: { frame: 'post_message_forwarding', targetOrigin: PLATFORM }, stateId: 'sid9', idToken: 'h.p.s', state: 'st', actionUrl: 'https://tool.example.test/lti/1.3/launch'
  })
  const form = parseAutoSubmitForm(html)
  t.equal(form.method, 'POST')
  t.equal(form.action, 'https://tool.example.test/lti/1.3/launch')
  const page = run(html, platform(store), { opener: true })
  t.same(await page.submitted, { id_token: 'h.p.s', state: 'st', [STORAGE_BINDING_FIELD]: 'bind-9' })
  t.equal(page.posted[1]?.to, 'post_message_forwarding', 'no frame in capabilities: lti_storage_target is used')
})

t.test('older org.imsglobal.* subjects advertised by the platform are used', async t => {
  const store = new Map([[bindingStorageKey('s'), 'b']])
  const html = renderLaunchStoragePage({ storage: { frame: '_parent', targetOrigin: PLATFORM }, stateId: 's', idToken: 'x', state: 'y', actionUrl: 'https://tool.example.test/l' })
  const page = run(html, platform(store, { prefix: 'org.imsglobal.' }))
  t.equal((await page.submitted)[STORAGE_BINDING_FIELD], 'b')
  t.equal(page.posted[1]?.message.subject, 'org.imsglobal.lti.get_data')
})

t.test('replies from another origin, with another message_id or subject, or with an error are ignored', async t => {
  const html = renderLaunchStoragePage({ storage: { frame: '_parent', targetOrigin: PLATFORM }, stateId: 's', idToken: 'x', state: 'y', actionUrl: 'https://tool.example.test/l' })
  const hostile = (_to: string, m: Record<string, any>): Reply[] => m.subject === 'lti.get_data'
    ? [
        { origin: 'https://evil.example.test', data: { subject: 'lti.get_data.response', message_id: m.message_id, key: m.key, value: 'from-evil' } },
        { data: { subject: 'lti.get_data.response', message_id: 'guessed', key: m.key, value: 'wrong-id' } },
        { data: { subject: 'lti.put_data.response', message_id: m.message_id, key: m.key, value: 'wrong-subject' } },
        { data: JSON.stringify({ subject: 'lti.get_data.response', message_id: m.message_id, key: 'other-key', value: 'wrong-key' }) }
      ]
    : []
  const withTimeout = html.replace('"timeoutMs":2000', '"timeoutMs":50')
  t.not(withTimeout, html, 'timeout shortened for the test')
  const page = run(withTimeout, hostile)
  t.equal((await page.submitted)[STORAGE_BINDING_FIELD], '', 'nothing accepted; the form is still submitted')

  const erroring = run(withTimeout, platform(new Map()))
  t.equal((await erroring.submitted)[STORAGE_BINDING_FIELD], '', 'key_not_found leaves the field empty')
})

t.test('a platform without storage support: the page still submits after the timeouts', async t => {
  const html = renderStorageGetPage({
    storage: { frame: '_parent', targetOrigin: PLATFORM }, timeoutMs: 30, reads: [{ key: 'k', field: 'f' }], next: { url: 'https://tool.example.test/l', fields: { a: '1' } }
  })
  const page = run(html, () => null)
  t.same(await page.submitted, { a: '1', f: '' })
})

t.test('postToAnyOrigin posts with "*" but still only trusts the platform origin', async t => {
  const store = new Map([[bindingStorageKey('s'), 'b']])
  const html = renderLaunchStoragePage({ storage: { frame: '_parent', targetOrigin: PLATFORM }, stateId: 's', idToken: 'x', state: 'y', actionUrl: 'https://tool.example.test/l', postToAnyOrigin: true })
  const page = run(html, platform(store))
  t.equal((await page.submitted)[STORAGE_BINDING_FIELD], 'b')
  t.ok(page.posted.every(p => p.targetOrigin === '*'))
})

t.test('everything that comes from outside is escaped', async t => {
  const nasty = '"><script>alert(1)</script><!--\u2028'
  const html = renderLaunchStoragePage({
    storage: { frame: nasty, targetOrigin: PLATFORM }, stateId: nasty, idToken: nasty, state: nasty, actionUrl: `https://tool.example.test/l?x="><b>`, cspNonce: 'n"o'
  })
  t.notMatch(html, /<script>alert/, 'no injected element')
  t.notMatch(html, /<!--/)
  t.match(html, /<script nonce="n&quot;o">/)
  const config = JSON.parse(/id="lti-storage-config">([\s\S]*?)<\/script>/.exec(html)?.[1] as string)
  t.equal(config.frame, nasty, 'the frame name survives the round trip')
  t.equal(config.reads[0].key, bindingStorageKey(nasty))
  const form = parseAutoSubmitForm(html)
  t.equal(form.fields.id_token, nasty)
  t.equal(form.action, 'https://tool.example.test/l?x="><b>')
  t.throws(() => renderLaunchStoragePage({ storage: { frame: '_parent', targetOrigin: 'javascript:alert(1)' }, stateId: 's', idToken: 'x', state: 'y', actionUrl: 'https://tool.example.test/l' }))
})
