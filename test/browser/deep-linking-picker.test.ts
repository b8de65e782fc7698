/**
 * The Deep Linking picker in a real headless Chromium (Debian `chromium`, playwright-core), inside
 * the platform's iframe on another site: the fake platform's course page (127.0.0.1) frames the
 * tool's login (localhost), the request goes through OIDC login and launch, the instructor works
 * the picker with the keyboard and the mouse, and the signed answer is auto-posted back to the
 * platform's deep_link_return_url, where the fake platform verifies it against our JWKS.
 *
 * Screenshots of each page go to $DL_SCREENSHOTS (default: a temporary folder) for review.
 */
import t, { type Test } from 'tap'
import net from 'node:net'
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core'
import { startFakeLms, DEMO_COURSE_ID } from '../support/fake-lms.js'
import { startFakeLti13Platform, type FakeDeepLinkingSettings, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { buildTestApp } from '../helpers/build-app.js'
import { Role } from '../../src/lti/claims.js'
import { toolUrls } from '../../src/lti/v13/tool-urls.js'
import { createLti13RegistrationsRepository } from '../../src/db/repositories/lti13-registrations-repository.js'
import { createLti13DeploymentsRepository } from '../../src/db/repositories/lti13-deployments-repository.js'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
const SHOTS = process.env.DL_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'dl-shots-'))

async function freePort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

interface Rig { platform: FakeLti13Platform, browser: Browser, toolOrigin: string }

async function rig (t: Test): Promise<Rig> {
  const lms = await startFakeLms({ courses: [{ id: DEMO_COURSE_ID }] })
  t.teardown(() => lms.close())
  const toolPort = await freePort()
  // localhost and 127.0.0.1 are different sites: the tool frame is cross-site in the platform page.
  const toolOrigin = `http://localhost:${toolPort}`
  const platform = await startFakeLti13Platform({ redirectUris: [`${toolOrigin}/lti/1.3/launch`] })
  t.teardown(() => platform.close())
  platform.toolJwksUrl = `${toolOrigin}/lti/1.3/jwks`
  const { app } = await buildTestApp(t, { PUBLIC_URL: toolOrigin, LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret', LMS_SESSION_HANDOFF: 'redirect' })
  await app.listen({ port: toolPort, host: '127.0.0.1' })
  const now = Date.now()
  const registrationId = await createLti13RegistrationsRepository(app.knex).insert({
    name: 'Fake Open edX', issuer: platform.issuer, clientId: platform.clientId, authLoginUrl: platform.authLoginUrl,
    authTokenUrl: platform.tokenUrl, authTokenAudience: null, jwksUrl: platform.jwksUrl, deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+*'], usePii: false, allowAnonymous: false, allowedAlgorithms: ['RS256'], allowedHosts: [],
    tokenMaxAge: 300, lti11ConsumerId: null, active: true, createdAt: now, updatedAt: now
  })
  await createLti13DeploymentsRepository(app.knex).insert({ registrationId, deploymentId: platform.deploymentId, source: 'admin', createdAt: now })
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  t.teardown(() => browser.close())
  return { platform, browser, toolOrigin }
}

/** Opens the platform's course page framing a content selection with these settings. */
async function openPicker (r: Rig, settings: FakeDeepLinkingSettings): Promise<{ page: Page, tool: FrameLocator }> {
  const initiation = r.platform.loginInitiation({
    userId: 'teacher-1',
    targetLinkUri: toolUrls(r.toolOrigin).deepLinkingUrl,
    roles: [Role.membershipInstructor],
    claims: r.platform.deepLinkingClaims(settings)
  })
  const login = `${r.toolOrigin}/lti/1.3/login?${new URLSearchParams(initiation)}`
  const page = await r.browser.newPage({ viewport: { width: 960, height: 760 } })
  await page.goto(`${r.platform.issuer}/course-page?tool=${encodeURIComponent(login)}`, { timeout: 10_000 })
  return { page, tool: page.frameLocator('iframe[name=tool]') }
}

async function shot (page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, `${name}.png`) })
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true') t.fail(`${CHROMIUM} is missing: CI must run the picker in Chromium (apt-get install -y chromium)`)
  else t.test('deep-linking picker in Chromium', { skip: `${CHROMIUM} is not installed (apt-get install -y chromium)` }, async () => {})
} else {
  t.test('picker in a cross-site iframe: multi-select with the keyboard, search, single select, cancel', async t => {
    const r = await rig(t)
    const errors: string[] = []

    // Multi-select: a unit and a problem, chosen with the keyboard.
    const multi = await openPicker(r, { accept_multiple: true })
    // Only CSP reports count: the fake platform has no favicon, which Chromium logs as a 404.
    multi.page.on('console', m => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()) })
    try {
      await multi.tool.getByRole('button', { name: 'Demonstration Course' }).waitFor({ timeout: 15_000 })
    } catch (err) {
      const frames = await Promise.all(multi.page.frames().map(async f => `${f.url()}\n${(await f.content().catch(() => '')).slice(0, 800)}`))
      t.fail(`the picker did not open (${(err as Error).message}); frames:\n${frames.join('\n---\n')}`)
      return
    }
    await shot(multi.page, '1-courses')
    await multi.tool.getByRole('button', { name: 'Demonstration Course' }).click()
    const unit = multi.tool.getByRole('checkbox', { name: 'Unit 1' })
    await unit.waitFor({ timeout: 10_000 })
    await unit.focus()
    await multi.page.keyboard.press('Space')
    await multi.page.keyboard.press('Tab')
    await multi.page.keyboard.press('Tab')
    await multi.page.keyboard.press('Space')
    t.ok(await unit.isChecked(), 'Unit 1 checked with the keyboard')
    t.ok(await multi.tool.getByRole('checkbox', { name: 'Problem 2' }).isChecked(), 'Tab leads to the next block in outline order: Problem 2 (after Problem 1)')
    await shot(multi.page, '2-outline-multi')
    await multi.tool.getByRole('button', { name: 'Add to the course' }).click()
    await multi.tool.locator('#count').waitFor({ timeout: 10_000 })
    t.equal(await multi.tool.locator('#count').textContent(), '2 item(s) added')
    await shot(multi.page, '3-platform-received')
    t.same(r.platform.deepLinkingResponses.at(-1)?.items.map(i => i.title), ['Unit 1', 'Problem 2'])
    t.same(r.platform.deepLinkingRefusals, [])

    // Search by title, then a single selection.
    const single = await openPicker(r, { accept_multiple: false })
    await single.tool.getByRole('button', { name: 'Demonstration Course' }).click()
    const search = single.tool.getByLabel('Search by title')
    await search.fill('introduction')
    await search.press('Enter')
    const intro = single.tool.getByRole('radio', { name: 'Introduction' })
    await intro.waitFor({ timeout: 10_000 })
    t.equal(await single.tool.getByRole('radio', { name: 'Problem 2' }).count(), 0, 'search hides what does not match')
    await intro.check()
    await shot(single.page, '4-outline-single-search')
    await single.tool.getByRole('button', { name: 'Add to the course' }).click()
    await single.tool.locator('#count').waitFor({ timeout: 10_000 })
    t.equal(await single.tool.locator('#count').textContent(), '1 item(s) added')

    // Cancel from the course list.
    const cancel = await openPicker(r, {})
    await cancel.tool.getByRole('button', { name: 'Cancel' }).click()
    await cancel.tool.locator('#count').waitFor({ timeout: 10_000 })
    t.equal(await cancel.tool.locator('#count').textContent(), '0 item(s) added')
    t.equal(r.platform.deepLinkingResponses.at(-1)?.msg, 'No content was selected.')
    t.equal(r.platform.deepLinkingResponses.length, 3)
    t.same(errors, [], 'no console errors (no CSP violation)')
    t.comment(`screenshots in ${SHOTS}`)
  })
}
