/**
 * LTI Dynamic Registration over loopback against Moodle- and Canvas-shaped platforms (issue 15 §2):
 * the invite claimed once, the configuration fetched with the registration token, our client
 * registration as the platforms require it, what is stored (inactive until activated), the scope
 * warnings on the page and in the admin listing, and every refusal: a page with its code, a log
 * line, nothing stored and the invite handed back.
 */
import t, { type Test } from 'tap'
import { adminHeaders } from '../helpers/build-app.js'
import { createInvite, inviteView, openRegistration, PUBLIC_URL, startDrRig, stored, type DrRig } from '../helpers/dr-rig.js'

// Several apps on fresh databases: MariaDB needs more than the default 120 s under load.
t.setTimeout(300_000)

const AGS = 'https://purl.imsglobal.org/spec/lti-ags/scope/'
const TOOL_CONFIG = 'https://purl.imsglobal.org/spec/lti-tool-configuration'

function logged (rig: DrRig, code: string): Array<Record<string, unknown>> {
  return rig.lines.map(l => JSON.parse(l) as Record<string, unknown>).filter(l => l.code === code)
}

function assertNoSecretsLogged (t: Test, rig: DrRig, invite: string): void {
  const all = rig.lines.join('')
  t.notOk(all.includes(rig.dr.registrationToken), 'the registration token is never logged')
  t.notOk(all.includes(new URL(invite).searchParams.get('invite') as string), 'the invite token is never logged')
}

t.test('Moodle-shaped platform: registration with a deployment id, inactive until activated', async t => {
  const rig = await startDrRig(t, { shape: 'moodle' })
  const invite = await createInvite(rig.app, { contentScope: ['course-v1:OpenedX+*'] })
  t.match(invite.url, /^https:\/\/tool\.example\.org\/lti\/1\.3\/register\?invite=[A-Za-z0-9_-]{43}$/)
  t.equal((await inviteView(rig.app, invite.id)).status, 'pending')

  const res = await openRegistration(rig.app, rig.dr.startUrl(invite.url))
  t.equal(res.statusCode, 200, res.body)
  t.match(res.headers['content-type'], /text\/html/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers['referrer-policy'], 'no-referrer')
  t.match(res.body, '<h1>Registered with Open edX</h1>')
  t.match(res.body, 'Waiting for activation')
  t.match(res.body, "postMessage(message, '*')")
  t.match(res.body, "{ subject: 'org.imsglobal.lti.close' }")
  t.match(res.body, '{"autoClose":true}', 'no warnings: the page closes itself')

  // What the platform received: Moodle's required fields, bearer token on the registration.
  t.equal(rig.dr.configRequests.length, 1)
  t.equal(rig.dr.configRequests[0]?.authorization, `Bearer ${rig.dr.registrationToken}`, 'the configuration is fetched with the token')
  const [request] = rig.dr.registrationRequests
  t.equal(request?.authorization, `Bearer ${rig.dr.registrationToken}`)
  t.match(request?.contentType, /^application\/json/)
  t.same(request?.body, {
    application_type: 'web',
    response_types: ['id_token'],
    grant_types: ['implicit', 'client_credentials'],
    initiate_login_uri: `${PUBLIC_URL}/lti/1.3/login`,
    redirect_uris: [`${PUBLIC_URL}/lti/1.3/launch`],
    client_name: 'Open edX',
    jwks_uri: `${PUBLIC_URL}/lti/1.3/jwks`,
    token_endpoint_auth_method: 'private_key_jwt',
    scope: `${AGS}score ${AGS}lineitem ${AGS}result.readonly`,
    [TOOL_CONFIG]: {
      domain: 'tool.example.org',
      description: 'Open edX course content, with grades sent back to this platform.',
      target_link_uri: `${PUBLIC_URL}/lti/1.3/launch`,
      claims: ['iss', 'sub', 'name', 'given_name', 'family_name', 'email'],
      messages: [
        { type: 'LtiResourceLinkRequest', target_link_uri: `${PUBLIC_URL}/lti/1.3/launch`, label: 'Open edX' },
        { type: 'LtiDeepLinkingRequest', target_link_uri: `${PUBLIC_URL}/lti/1.3/deep-linking/launch`, label: 'Open edX' }
      ]
    }
  })

  const list = (await rig.app.inject({ url: '/admin/api/v1/lti13/registrations', headers: adminHeaders })).json().registrations
  t.equal(list.length, 1)
  t.match(list[0], {
    name: `moodle ${new URL(rig.platform.issuer).host}`,
    issuer: rig.platform.issuer,
    clientId: rig.platform.clientId,
    authLoginUrl: rig.platform.authLoginUrl,
    authTokenUrl: rig.platform.tokenUrl,
    authTokenAudience: null,
    jwksUrl: rig.platform.jwksUrl,
    deploymentPolicy: 'strict',
    contentScope: ['course-v1:OpenedX+*'],
    active: false,
    deployments: [{ deploymentId: rig.platform.deploymentId, source: 'registered' }]
  })
  t.match(await inviteView(rig.app, invite.id), { status: 'used', registrationId: list[0].id, registrationActive: false, warnings: [] })
  const [line] = rig.lines.map(l => JSON.parse(l)).filter(l => l.event === 'dr_registration_created')
  t.match(line, { registrationId: list[0].id, inviteId: invite.id, issuer: rig.platform.issuer, active: false, deployment: true })
  assertNoSecretsLogged(t, rig, invite.url)

  // The invite is spent: opening the same URL again is refused and stores nothing more.
  const again = await openRegistration(rig.app, rig.dr.startUrl(invite.url))
  t.equal(again.statusCode, 410)
  t.match(again.body, 'Error code: <code>DR_INVITE_USED</code>')
  t.same(await stored(rig.app.knex), { registrations: 1, deployments: 1 })
  t.equal(rig.dr.registrationRequests.length, 1, 'the platform is not called again')
})

t.test('Canvas-shaped platform on split hosts: no deployment id, fewer scopes granted, auto-activated', async t => {
  // The configuration and registration endpoint live on the school's host (here `localhost`), the
  // issuer elsewhere (127.0.0.1), as on Canvas Cloud: the invite names the extra host.
  const rig = await startDrRig(t, { shape: 'canvas', configHost: 'localhost', grantScopes: asked => asked.filter(s => s !== `${AGS}lineitem`) })
  const refused = await createInvite(rig.app, { autoActivate: true })
  const mismatch = await openRegistration(rig.app, rig.dr.startUrl(refused.url))
  t.equal(mismatch.statusCode, 502)
  t.match(mismatch.body, 'Error code: <code>DR_ISSUER_MISMATCH</code>', 'without the extra host the split is refused')
  t.match(await inviteView(rig.app, refused.id), { status: 'pending' }, 'and the invite is handed back')

  const invite = await createInvite(rig.app, { autoActivate: true, allowedHosts: ['localhost'], contentScope: ['course-v1:OpenedX+*'] })
  const res = await openRegistration(rig.app, rig.dr.startUrl(invite.url))
  t.equal(res.statusCode, 200, res.body)
  t.match(res.body, '<strong>Active:</strong>')
  t.match(res.body, 'Deployment id: none yet (recorded at the first launch)')
  t.match(res.body, /<ul id="warnings"><li>The platform granted fewer scopes than asked; missing: https:\/\/purl.imsglobal.org\/spec\/lti-ags\/scope\/lineitem\.<\/li><\/ul>/)
  t.match(res.body, '{"autoClose":false}', 'with warnings the admin reads them and closes')
  t.equal(rig.dr.configRequests.at(-1)?.authorization, `Bearer ${rig.dr.registrationToken}`)

  const [registration] = (await rig.app.inject({ url: '/admin/api/v1/lti13/registrations', headers: adminHeaders })).json().registrations
  t.match(registration, { name: /^canvas /, clientId: '10000000000042', deploymentPolicy: 'record', active: true, allowedHosts: ['localhost'], deployments: [] })
  const listing = (await rig.app.inject({ url: '/admin/api/v1/lti13/registration-invites', headers: adminHeaders })).json().invites
  t.match(listing.find((i: { id: number }) => i.id === invite.id), {
    status: 'used', registrationId: registration.id, registrationActive: true,
    warnings: [/missing: https:\/\/purl.imsglobal.org\/spec\/lti-ags\/scope\/lineitem/]
  }, 'the admin listing carries the warning')
  t.notMatch(JSON.stringify(listing), /invite=/, 'the listing never shows invite URLs')
  assertNoSecretsLogged(t, rig, invite.url)
})

interface Refusal {
  name: string
  shape?: 'moodle' | 'canvas'
  prepare?: (rig: DrRig) => void
  /** Path from the invite URL (default: the platform's start URL). */
  path?: (rig: DrRig, inviteUrl: string) => string
  status: number
  code: string
  /** The invite stays usable afterwards (it was claimed and handed back, or never claimed). */
  pending?: boolean
  says?: RegExp
}

const REFUSALS: Refusal[] = [
  { name: 'no openid_configuration', path: (_rig, url) => new URL(url).pathname + new URL(url).search, status: 400, code: 'DR_BAD_REQUEST', pending: true },
  { name: 'an openid_configuration that is not https', path: (_rig, url) => `${new URL(url).pathname}${new URL(url).search}&openid_configuration=${encodeURIComponent('ftp://platform.example/x')}`, status: 400, code: 'DR_BAD_REQUEST', pending: true },
  { name: 'a repeated parameter', path: (rig, url) => rig.dr.startUrl(url) + '&invite=x', status: 400, code: 'DR_BAD_REQUEST', pending: true },
  { name: 'an invite nobody made', path: (rig) => rig.dr.startUrl(`${'https://tool.example.org'}/lti/1.3/register?invite=${'A'.repeat(43)}`), status: 403, code: 'DR_INVITE_UNKNOWN', pending: true },
  { name: 'a bad registration token (Canvas: configuration 401)', shape: 'canvas', path: (rig, url) => rig.dr.startUrl(url, 'forged'), status: 502, code: 'DR_CONFIG_FETCH_FAILED', pending: true },
  { name: 'a bad registration token (Moodle: registration 401)', path: (rig, url) => rig.dr.startUrl(url, 'forged'), status: 502, code: 'DR_REGISTRATION_REFUSED', pending: true },
  { name: 'the configuration answers 500', prepare: rig => { rig.dr.faults.configStatus = 500 }, status: 502, code: 'DR_CONFIG_FETCH_FAILED', pending: true },
  { name: 'the configuration is not JSON', prepare: rig => { rig.dr.faults.configBody = '<html>Log in</html>' }, status: 502, code: 'DR_CONFIG_NOT_JSON', pending: true },
  { name: 'the configuration lacks registration_endpoint', prepare: rig => { rig.dr.faults.config = d => ({ ...d, registration_endpoint: undefined }) }, status: 502, code: 'DR_CONFIG_INVALID', pending: true },
  { name: 'the configuration lacks the platform-configuration claim', prepare: rig => { rig.dr.faults.config = d => ({ ...d, 'https://purl.imsglobal.org/spec/lti-platform-configuration': undefined }) }, status: 502, code: 'DR_CONFIG_INVALID', pending: true },
  { name: 'the configuration offers no private_key_jwt', prepare: rig => { rig.dr.faults.config = d => ({ ...d, token_endpoint_auth_methods_supported: ['client_secret_basic'] }) }, status: 502, code: 'DR_CONFIG_INVALID', pending: true },
  { name: 'the issuer is another origin than the configuration URL', prepare: rig => { rig.dr.faults.config = d => ({ ...d, issuer: 'https://platform.example' }) }, status: 502, code: 'DR_ISSUER_MISMATCH', pending: true },
  { name: 'the token endpoint is on a host the invite does not allow', prepare: rig => { rig.dr.faults.config = d => ({ ...d, token_endpoint: 'https://attacker.example/token' }) }, status: 502, code: 'DR_ENDPOINT_NOT_ALLOWED', pending: true },
  // Private and metadata addresses are refused by the same address rules as at save time, before any fetch.
  { name: 'the registration endpoint is on a private address (SSRF)', prepare: rig => { rig.dr.faults.config = d => ({ ...d, registration_endpoint: 'https://10.0.0.7/register' }) }, status: 502, code: 'DR_CONFIG_INVALID', pending: true },
  { name: 'openid_configuration names a private address (SSRF)', path: (_rig, url) => `${new URL(url).pathname}${new URL(url).search}&openid_configuration=${encodeURIComponent('https://169.254.169.254/latest/meta-data')}`, status: 400, code: 'DR_BAD_REQUEST', pending: true },
  { name: 'Canvas refuses the registration (422 errors)', shape: 'canvas', prepare: rig => { rig.dr.faults.registrationStatus = 422 }, status: 502, code: 'DR_REGISTRATION_REFUSED', pending: true, says: /The platform said: Registration not allowed for this account/ },
  { name: 'the registration answer is not JSON', prepare: rig => { rig.dr.faults.registrationBody = 'OK' }, status: 502, code: 'DR_REGISTRATION_NOT_JSON', pending: true },
  { name: 'the registration answer has no client_id', prepare: rig => { rig.dr.faults.answer = d => ({ ...d, client_id: undefined }) }, status: 502, code: 'DR_REGISTRATION_INVALID', pending: true },
  { name: 'the registration answer has a deployment id that is not one', prepare: rig => { rig.dr.faults.answer = d => ({ ...d, [TOOL_CONFIG]: { deployment_id: ' x ' } }) }, status: 502, code: 'DR_REGISTRATION_INVALID', pending: true }
]

// One app and platform per shape for all refusals (a MariaDB database per case would be slow);
// each case starts with fresh faults, a fresh invite and an empty log.
for (const shape of ['moodle', 'canvas'] as const) {
  t.test(`refusals from a ${shape}-shaped platform: a page, a log line, nothing stored`, async t => {
    const rig = await startDrRig(t, { shape })
    for (const c of REFUSALS.filter(r => (r.shape ?? 'moodle') === shape)) {
      for (const key of Object.keys(rig.dr.faults)) delete rig.dr.faults[key as keyof typeof rig.dr.faults]
      rig.lines.length = 0
      const invite = await createInvite(rig.app)
      c.prepare?.(rig)
      const before = await stored(rig.app.knex)
      const path = c.path ? c.path(rig, invite.url) : rig.dr.startUrl(invite.url)
      const res = await openRegistration(rig.app, path)
      t.equal(res.statusCode, c.status, `${c.name}: ${c.status}`)
      t.match(res.headers['content-type'], /text\/html/)
      t.match(res.body, `Error code: <code>${c.code}</code>`, `${c.name}: ${c.code}`)
      t.match(res.body, 'Nothing was stored.')
      t.notMatch(res.body, /org\.imsglobal\.lti\.close|at .*\.ts:\d+/, `${c.name}: no close message, no stack`)
      if (c.says) t.match(res.body, c.says)
      t.same(await stored(rig.app.knex), before, `${c.name}: nothing stored`)
      t.equal(logged(rig, c.code).length, 1, `${c.name}: one log line with the code`)
      if (c.pending) t.match(await inviteView(rig.app, invite.id), { status: 'pending', usedAt: null, registrationId: null }, `${c.name}: the invite can be used again`)
      assertNoSecretsLogged(t, rig, invite.url)
    }
  })
}

t.test('an expired invite is refused before the platform is called', async t => {
  const rig = await startDrRig(t, { shape: 'moodle' })
  const invite = await createInvite(rig.app, { expiresInSeconds: 60 })
  await rig.app.knex('lti13_registration_invites').where({ id: invite.id }).update({ expires_at: Date.now() - 1 })
  const res = await openRegistration(rig.app, rig.dr.startUrl(invite.url))
  t.equal(res.statusCode, 410)
  t.match(res.body, 'Error code: <code>DR_INVITE_EXPIRED</code>')
  t.equal(rig.dr.configRequests.length, 0)
  t.match(await inviteView(rig.app, invite.id), { status: 'expired' })
  t.same(await stored(rig.app.knex), { registrations: 0, deployments: 0 })
})

t.test('the platform returns a client id already registered: DR_ALREADY_REGISTERED, nothing more stored', async t => {
  const rig = await startDrRig(t, { shape: 'moodle' })
  const first = await createInvite(rig.app)
  t.equal((await openRegistration(rig.app, rig.dr.startUrl(first.url))).statusCode, 200)
  const second = await createInvite(rig.app)
  const res = await openRegistration(rig.app, rig.dr.startUrl(second.url))
  t.equal(res.statusCode, 409)
  t.match(res.body, 'Error code: <code>DR_ALREADY_REGISTERED</code>')
  t.same(await stored(rig.app.knex), { registrations: 1, deployments: 1 })
  t.match(await inviteView(rig.app, second.id), { status: 'pending' })
})

t.test('one invite opened ten times at once: exactly one registration', async t => {
  const rig = await startDrRig(t, { shape: 'moodle' })
  const invite = await createInvite(rig.app)
  const path = rig.dr.startUrl(invite.url)
  const answers = await Promise.all(Array.from({ length: 10 }, async () => await openRegistration(rig.app, path)))
  const statuses = answers.map(a => a.statusCode).sort()
  t.same(statuses, [200, 410, 410, 410, 410, 410, 410, 410, 410, 410], 'one success, nine DR_INVITE_USED')
  t.equal(answers.filter(a => a.body.includes('DR_INVITE_USED')).length, 9)
  t.same(await stored(rig.app.knex), { registrations: 1, deployments: 1 })
  t.equal(rig.dr.registrationRequests.length, 1, 'the platform was asked once')
})

t.test('admin API: invite input is checked; listing, reading and withdrawing', async t => {
  const rig = await startDrRig(t, { shape: 'moodle' })
  const bad = await rig.app.inject({
    method: 'POST', url: '/admin/api/v1/lti13/registration-invites', headers: adminHeaders,
    payload: { contentScope: ['course-v1:(x'], allowedHosts: ['https://sso.canvaslms.com'], expiresInSeconds: 10 }
  })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'VALIDATION_FAILED', 'the schema refuses a 10 s lifetime')
  const semantic = await rig.app.inject({
    method: 'POST', url: '/admin/api/v1/lti13/registration-invites', headers: adminHeaders,
    payload: { contentScope: ['course-v1:(x'], allowedHosts: ['https://sso.canvaslms.com'] }
  })
  t.equal(semantic.statusCode, 400)
  t.match(semantic.json(), { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'contentScope.0' }, { field: 'allowedHosts.0' }] } })
  t.same(await rig.app.knex('lti13_registration_invites').count({ n: '*' }).first().then(r => Number(r?.n)), 0, 'nothing stored')

  const empty = await rig.app.inject({ method: 'POST', url: '/admin/api/v1/lti13/registration-invites', headers: adminHeaders })
  t.equal(empty.statusCode, 201, 'no body: every default')
  const created = empty.json()
  const expires = Date.parse(created.expiresAt) - Date.now()
  t.ok(expires > 23.9 * 3600_000 && expires <= 24 * 3600_000, 'expires in 24 h by default')
  const row = await rig.app.knex('lti13_registration_invites').where({ id: created.id }).first()
  t.notMatch(JSON.stringify(row), new URL(created.url).searchParams.get('invite') as string, 'only the hash is stored')
  t.match(row?.token_hash, /^[0-9a-f]{64}$/)

  t.equal((await rig.app.inject({ url: '/admin/api/v1/lti13/registration-invites' })).statusCode, 401, 'the admin token is required')
  t.equal((await rig.app.inject({ method: 'DELETE', url: `/admin/api/v1/lti13/registration-invites/${created.id}`, headers: adminHeaders })).statusCode, 204)
  t.equal((await rig.app.inject({ url: `/admin/api/v1/lti13/registration-invites/${created.id}`, headers: adminHeaders })).statusCode, 404)
  const withdrawn = await openRegistration(rig.app, rig.dr.startUrl(created.url))
  t.match(withdrawn.body, 'DR_INVITE_UNKNOWN', 'a withdrawn invite no longer works')
})
