/**
 * Metrics an operator relies on (issue 14): every metric the shipped alert rules and Grafana
 * dashboard name exists in a running app's /metrics (with the event consumer on, against the
 * librdkafka mock broker); Node's default metrics keep their stock names; launches are counted by
 * version and result code, LMS calls by call and outcome. `promtool check rules` runs in .ci/run.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { startFakeLms, DEMO_COURSE_ID, usageKey } from '../support/fake-lms.js'
import { mockKafkaSkipReason, startMockKafka } from '../support/kafka-mock-broker.js'
import { fullTopicName } from '../../src/events/decode/event-type.js'
import { adminHeaders, buildTestApp } from '../helpers/build-app.js'
import { signLaunchWithImsLti } from '../helpers/ims-lti-signer.js'
import { packageVersion } from '../../src/http/user-agent.js'

t.setTimeout(120_000)

const PUBLIC_URL = 'https://tool.example.org'
const RELAY = { key: 'lms-relay-key', secret: 'lms-relay-secret' }
const METRIC = /\b((?:lti_provider|process|nodejs)_[a-z0-9_]+)\b/g

/** Base metric names an expression uses (histogram series map to their histogram). */
function metricNames (expr: string): string[] {
  return [...expr.matchAll(METRIC)].map(m => (m[1] as string).replace(/_(bucket|count|sum)$/, ''))
}

function shippedMetricNames (): Map<string, string> {
  const names = new Map<string, string>()
  const alerts = parse(readFileSync(new URL('../../deploy/prometheus-alerts.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string, expr: string }> }> }
  for (const rule of alerts.groups.flatMap(g => g.rules)) for (const n of metricNames(rule.expr)) names.set(n, `alert ${rule.alert}`)
  const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: Array<{ title: string, targets: Array<{ expr: string }> }> }
  for (const panel of dashboard.panels) for (const target of panel.targets) for (const n of metricNames(target.expr)) names.set(n, `panel ${panel.title}`)
  return names
}

t.test('the alert rules and the dashboard name only metrics /metrics exposes', { skip: mockKafkaSkipReason() }, async t => {
  const names = shippedMetricNames()
  for (const wanted of ['lti_provider_passback_oldest_due_age_seconds', 'lti_provider_events_total', 'lti_provider_event_consumer_ready', 'lti_provider_launches_total']) {
    t.ok(names.has(wanted), `the rules or the dashboard use ${wanted}`)
  }
  const prefix = `obs${Date.now().toString(36)}`
  const broker = await startMockKafka({ topics: [{ topic: fullTopicName(prefix), partitions: 1 }] })
  t.teardown(broker.stop)
  const lms = await startFakeLms()
  t.teardown(() => lms.close())
  const { app } = await buildTestApp(t, {
    KAFKA_BROKERS: broker.bootstrap.join(','), KAFKA_GROUP_ID: `${prefix}-group`, EVENT_BUS_TOPIC_PREFIX: prefix,
    LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret', LMS_SESSION_HANDOFF: 'redirect',
    PASSBACK_WORKER_ENABLED: 'true'
  })
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  for (const [name, where] of names) {
    t.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} (${where}) is exposed`)
  }
  t.match(text, /^# TYPE process_cpu_seconds_total /m, 'default process metrics keep their stock names')
  t.notMatch(text, /lti_provider_(process|nodejs)_/, 'and are not prefixed')
  t.match(text, new RegExp(`^lti_provider_build_info\\{version="${packageVersion().replace(/\./g, '\\.')}",node="${process.versions.node.replace(/\./g, '\\.')}"\\} 1$`, 'm'), 'build info')
  t.match(text, /^lti_provider_dead_letters 0$/m, 'dead letters counted from the table')
})

t.test('launches are counted by version and result code; LMS calls by call and outcome', async t => {
  const lms = await startFakeLms({ ltiConsumers: [{ key: RELAY.key, secret: RELAY.secret, usePii: true }] })
  t.teardown(() => lms.close())
  const { app } = await buildTestApp(t, {
    PUBLIC_URL, LMS_URL: lms.url, LMS_CLIENT_ID: 'lti-provider-client', LMS_CLIENT_SECRET: 'lti-provider-secret',
    LMS_RELAY_CONSUMER_KEY: RELAY.key, LMS_RELAY_CONSUMER_SECRET: RELAY.secret
  })
  const created = await app.inject({ method: 'POST', url: '/admin/api/v1/lti11/consumers', headers: adminHeaders, payload: { name: 'Canvas', key: 'canvas', secret: 'canvas-secret-0123456789', contentScope: ['course-v1:OpenedX+*'] } })
  t.equal(created.statusCode, 201)
  const path = `/lti_provider/courses/${DEMO_COURSE_ID}/${usageKey(DEMO_COURSE_ID, 'problem', 'p1')}`
  const launch = async (secret: string) => {
    const signed = signLaunchWithImsLti(PUBLIC_URL + path, 'canvas', secret, {
      lti_message_type: 'basic-lti-launch-request', lti_version: 'LTI-1p0', resource_link_id: 'rl-1', user_id: 'learner-1', roles: 'Learner',
      context_id: 'ctx-1', tool_consumer_instance_guid: 'canvas.example.edu'
    })
    return await app.inject({ method: 'POST', url: path, payload: signed.body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } })
  }
  t.equal((await launch('canvas-secret-0123456789')).statusCode, 200)
  t.equal((await launch('wrong-secret-0123456789')).statusCode, 401)
  t.equal((await launch('wrong-secret-0123456789')).statusCode, 401)
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(text, /^lti_provider_launches_total\{version="1\.1",result="ok"\} 1$/m)
  t.match(text, /^lti_provider_launches_total\{version="1\.1",result="LTI11_BAD_SIGNATURE"\} 2$/m)
  t.match(text, /^lti_provider_launches_total\{version="1\.3",result="ok"\} 0$/m, 'series exist before the first launch')
  t.match(text, /^lti_provider_lms_request_duration_seconds_count\{call="[a-z_-]+",outcome="ok"\} [1-9]/m, 'LMS calls timed by call')
})
