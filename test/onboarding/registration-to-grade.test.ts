/**
 * From nothing to a graded launch with only the published URLs (issue 15 "done when"): an admin
 * makes an invite, the platform (Moodle- or Canvas-shaped fake) registers through it, the admin
 * activates the registration where the invite did not, a learner launches for real (OIDC login →
 * the platform's auth endpoint → id_token → our launch → LMS account and relay form), and the grade of that launch's
 * line item reaches the platform's AGS endpoint through the real outbox worker, token and all.
 */
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { startFakeAgsPlatform, type FakeAgsPlatform } from '../support/fake-ags-platform.js'
import { parseAutoSubmitForm, type FakeLti13Platform } from '../support/fake-lti13-platform.js'
import { queuePassback } from '../support/fake-lti11-outcome-service.js'
import { adminHeaders } from '../helpers/build-app.js'
import { lmsEnv } from '../helpers/lms-env.js'
import { createInvite, openRegistration, PUBLIC_URL, startDrRig } from '../helpers/dr-rig.js'
import { contentTargetLinkUri } from '../../src/lti/v13/tool-urls.js'
import { Scope, ServiceClaim } from '../../src/lti/claims.js'

const PROBLEM = usageKey(DEMO_COURSE_ID, 'problem', 'p1')
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }

/** Login through our route, the platform's real auth endpoint, then its form_post to our launch. */
async function launch (app: FastifyInstance, platform: FakeLti13Platform, ags: FakeAgsPlatform, userId: string) {
  const initiation = platform.loginInitiation({
    userId,
    targetLinkUri: contentTargetLinkUri(PUBLIC_URL, DEMO_COURSE_ID, PROBLEM),
    claims: { [ServiceClaim.agsEndpoint]: { scope: [Scope.agsScore, Scope.agsResultReadonly], lineitem: ags.lineitemUrl(7) } }
  })
  const login = await app.inject({ url: `/lti/1.3/login?${new URLSearchParams(initiation)}`, headers: { accept: 'text/html' } })
  if (login.statusCode !== 302) return login
  const auth = await fetch(String(login.headers.location), { redirect: 'manual', signal: AbortSignal.timeout(5000) })
  const form = parseAutoSubmitForm(await auth.text())
  const cookie = String(login.headers['set-cookie'] ?? '').split(';')[0] as string
  return await app.inject({
    method: 'POST', url: new URL(form.action).pathname, payload: new URLSearchParams(form.fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie }
  })
}

async function delivered (app: FastifyInstance, id: number): Promise<Record<string, unknown>> {
  const until = Date.now() + 10_000
  for (;;) {
    const row = await app.knex('passbacks').where({ id }).first() as Record<string, unknown>
    if (row.status !== 'pending' && row.status !== 'delivering') return row
    if (Date.now() > until) throw new Error('passback not settled')
    app.passbackWorker.kick()
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}

async function fromNothingToGrade (t: Test, shape: 'moodle' | 'canvas'): Promise<void> {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret }] })
  t.teardown(() => lms.close())
  // The AGS fake (token + scores) runs beside the platform on 127.0.0.1 with its own port: a second
  // platform host, which the invite allows as an admin does for Canvas Cloud's sso.canvaslms.com.
  let app: FastifyInstance | undefined
  const ags = await startFakeAgsPlatform({ clientId: shape === 'canvas' ? '10000000000042' : 'Kq3xV7bN2mWcT9p', toolJwks: async () => (await app!.inject({ url: '/lti/1.3/jwks' })).json() })
  t.teardown(() => ags.close())
  const rig = await startDrRig(t, { shape, tokenUrl: ags.tokenUrl }, { ...lmsEnv(lms, PUBLIC_URL), PASSBACK_WORKER_ENABLED: 'true', PASSBACK_POLL_INTERVAL_MS: '20' })
  app = rig.app

  const invite = await createInvite(app, { contentScope: ['course-v1:OpenedX+*'], allowedHosts: ['127.0.0.1'], autoActivate: shape === 'canvas' })
  const page = await openRegistration(app, rig.dr.startUrl(invite.url))
  t.equal(page.statusCode, 200, 'the platform registered itself')
  const [registration] = (await app.inject({ url: '/admin/api/v1/lti13/registrations', headers: adminHeaders })).json().registrations
  t.equal(registration.authTokenUrl, ags.tokenUrl)

  if (shape === 'moodle') {
    const inactive = await launch(app, rig.platform, ags, 'learner-early')
    t.equal(inactive.statusCode, 403, 'launches wait for the activation')
    t.match(inactive.body, 'LTI13_REGISTRATION_INACTIVE')
    const activated = await app.inject({ method: 'PATCH', url: `/admin/api/v1/lti13/registrations/${registration.id}`, headers: adminHeaders, payload: { active: true } })
    t.equal(activated.statusCode, 200)
  }

  const res = await launch(app, rig.platform, ags, `${shape}-learner`)
  t.equal(res.statusCode, 200, `the launch is accepted: ${res.body.slice(0, 300)}`)
  t.match(res.body, `action="${lms.url}/lti_provider/`, 'the browser is handed over to the LMS')
  const profile = await app.knex('lti_profiles').first()
  t.equal(profile?.sub, `${shape}-learner`, 'the learner is mapped to an LMS account')
  const resource = await app.knex('graded_resources').first()
  t.equal(resource?.lineitem_url, ags.lineitemUrl(7), 'the launch recorded its line item')
  const deployments = (await app.inject({ url: `/admin/api/v1/lti13/registrations/${registration.id}`, headers: adminHeaders })).json().deployments
  t.match(deployments, [{ deploymentId: '1', source: shape === 'canvas' ? 'recorded' : 'registered' }], shape === 'canvas' ? 'Canvas: the deployment is recorded at its first launch' : 'Moodle: the deployment came with the registration')

  const id = await queuePassback(app.knex, { kind: 'lti13', targetKey: `r:${Number(resource?.id)}`, gradedResourceId: Number(resource?.id), scoreGiven: 7, scoreMaximum: 10 })
  t.match(await delivered(app, id), { status: 'delivered' })
  t.match(ags.scores, [{ lineitem: '7', userId: `${shape}-learner`, scoreGiven: 7, scoreMaximum: 10 }], 'the platform gradebook has the grade')
  t.match(ags.tokenRequests, [{ outcome: 'issued' }], 'with a token got by our signed client assertion')
}

t.test('Moodle-shaped platform: invite → registration → activation → launch → AGS grade', async t => {
  await fromNothingToGrade(t, 'moodle')
})

t.test('Canvas-shaped platform: invite (auto-activate) → registration → launch (deployment recorded) → AGS grade', async t => {
  await fromNothingToGrade(t, 'canvas')
})
