/**
 * The registration page in a real headless Chromium (Debian `chromium` via playwright-core), the
 * way platforms show it (issue 15 §2):
 *
 * - framed: a platform admin page on another site (platform-b.test) frames the tool's registration
 *   URL, as Moodle and Canvas do, and listens for `org.imsglobal.lti.close`; with a warning to read
 *   (a Canvas-shaped platform granting fewer scopes) the page waits for its Close button;
 * - new tab: the platform page opens the URL with window.open, as Brightspace does; with nothing
 *   to read the page posts the close message to its opener at once and closes its own tab.
 *
 * The framed page is screenshotted (the path is printed) so a person can look at what admins see.
 * CI=true with no /usr/bin/chromium fails loudly; elsewhere the test is skipped with the reason.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import net from 'node:net'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import { createInvite, startDrRig, stored } from '../helpers/dr-rig.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--host-resolver-rules=MAP *.test 127.0.0.1']
const AGS_LINEITEM = 'https://purl.imsglobal.org/spec/lti-ags/scope/lineitem'

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

/** The platform's "register a tool" page: frames the URL or opens it in a tab, and logs close messages. */
async function servePlatformPage (t: Test, registrationUrl: string, mode: 'iframe' | 'tab'): Promise<string> {
  const config = JSON.stringify({ registrationUrl, mode }).replace(/</g, '\\u003c')
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><html><body style="font-family:sans-serif;background:#eef"><h1>Platform: register a tool</h1>
<div id="panel"></div>
<script>
  var cfg = ${config};
  window.closeMessages = [];
  window.addEventListener('message', function (event) {
    if (!event.data || event.data.subject !== 'org.imsglobal.lti.close') { return; }
    window.closeMessages.push({ subject: event.data.subject, origin: event.origin });
    var frame = document.getElementById('tool');
    if (frame) { frame.remove(); }
    document.getElementById('panel').textContent = 'Tool registered.';
  });
  if (cfg.mode === 'iframe') {
    var frame = document.createElement('iframe');
    frame.id = 'tool'; frame.width = '860'; frame.height = '560'; frame.src = cfg.registrationUrl;
    document.getElementById('panel').appendChild(frame);
  } else {
    document.getElementById('panel').innerHTML = '<button id="open">Register in a new tab</button>';
    document.getElementById('open').addEventListener('click', function () { window.open(cfg.registrationUrl, '_blank'); });
  }
</script></body></html>`)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  })
  return `http://platform-b.test:${(server.address() as AddressInfo).port}/`
}

async function toolOnSocket (t: Test, shape: 'moodle' | 'canvas', grantScopes?: (asked: string[]) => string[]) {
  const port = await freePort()
  const publicUrl = `http://localhost:${port}`
  const rig = await startDrRig(t, grantScopes ? { shape, grantScopes } : { shape }, { PUBLIC_URL: publicUrl })
  await rig.app.listen({ port, host: '127.0.0.1' })
  const invite = await createInvite(rig.app, { contentScope: ['course-v1:OpenedX+*'] })
  return { rig, registrationUrl: publicUrl + rig.dr.startUrl(invite.url) }
}

async function browser (t: Test): Promise<Browser> {
  const b = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  t.teardown(() => b.close())
  return b
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') {
    t.fail(`${CHROMIUM} is missing: CI must run the registration page in Chromium (apt-get install -y chromium)`)
  } else {
    t.test('registration page in Chromium', { skip: `${CHROMIUM} is not installed (apt-get install -y chromium)` }, async () => {})
  }
} else {
  t.test('framed by the platform: the admin reads the warning, presses Close, the platform gets the close message', async t => {
    const { rig, registrationUrl } = await toolOnSocket(t, 'canvas', asked => asked.filter(s => s !== AGS_LINEITEM))
    const platformUrl = await servePlatformPage(t, registrationUrl, 'iframe')
    const page = await (await browser(t)).newPage({ viewport: { width: 940, height: 760 } })
    await page.goto(platformUrl, { timeout: 10_000 })
    const frame = page.frameLocator('#tool')
    await frame.locator('h1', { hasText: 'Registered with Open edX' }).waitFor({ timeout: 15_000 })
    t.match(await frame.locator('#warnings').innerText(), /fewer scopes than asked; missing: https:\/\/purl\.imsglobal\.org\/spec\/lti-ags\/scope\/lineitem/)
    t.same(await page.evaluate('window.closeMessages'), [], 'with a warning on screen, nothing closes by itself')
    const shot = join(tmpdir(), 'lti-dr-registration-framed.png')
    await page.screenshot({ path: shot })
    t.comment(`screenshot of the framed registration page: ${shot}`)

    await frame.locator('#close').click()
    await page.waitForFunction('window.closeMessages.length === 1', undefined, { timeout: 10_000 })
    t.same(await page.evaluate('window.closeMessages'), [{ subject: 'org.imsglobal.lti.close', origin: new URL(registrationUrl).origin }], 'the close message came from the tool frame')
    t.equal(await page.locator('#tool').count(), 0, 'the platform closed the panel')
    t.same(await stored(rig.app.knex), { registrations: 1, deployments: 0 })
  })

  t.test('opened in a new tab: the page posts the close message to its opener and closes itself', async t => {
    const { rig, registrationUrl } = await toolOnSocket(t, 'moodle')
    const platformUrl = await servePlatformPage(t, registrationUrl, 'tab')
    const context = await (await browser(t)).newContext()
    const page = await context.newPage()
    await page.goto(platformUrl, { timeout: 10_000 })
    const [popup] = await Promise.all([context.waitForEvent('page', { timeout: 10_000 }), page.click('#open')])
    const closed = popup.waitForEvent('close', { timeout: 15_000 })
    await page.waitForFunction('window.closeMessages.length === 1', undefined, { timeout: 15_000 })
    t.same(await page.evaluate('window.closeMessages'), [{ subject: 'org.imsglobal.lti.close', origin: new URL(registrationUrl).origin }])
    await closed
    t.ok(popup.isClosed(), 'the tab closed itself')
    t.equal(await page.locator('#panel').innerText(), 'Tool registered.')
    t.same(await stored(rig.app.knex), { registrations: 1, deployments: 1 })
  })
}
