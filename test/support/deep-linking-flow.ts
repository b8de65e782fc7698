/**
 * The Deep Linking round trip through the real app (app.inject), as a platform and an instructor's
 * browser drive it: login → the platform's auth endpoint → our launch (the picker's first page) →
 * the picker's form posts. Shared by the deep-linking tests.
 */
import type { FastifyInstance } from 'fastify'
import type { JSONWebKeySet } from 'jose'
import { parseAutoSubmitForm, type FakeLaunch, type FakeLti13Platform } from './fake-lti13-platform.js'

export interface PageAnswer { status: number, body: string, headers: Record<string, unknown> }

export async function deepLinkingLaunch (app: FastifyInstance, platform: FakeLti13Platform, launch: FakeLaunch): Promise<PageAnswer> {
  const login = await app.inject({ method: 'GET', url: `/lti/1.3/login?${new URLSearchParams(platform.loginInitiation(launch))}`, headers: { accept: 'text/html' } })
  if (login.statusCode !== 302) throw new Error(`login answered ${login.statusCode}: ${login.body.slice(0, 300)}`)
  const cookie = String(login.headers['set-cookie'] ?? '').split(';')[0] as string
  const auth = await fetch(String(login.headers.location), { redirect: 'manual', signal: AbortSignal.timeout(5000) })
  const text = await auth.text()
  if (auth.status !== 200) throw new Error(`auth endpoint refused: ${auth.status} ${text}`)
  const form = parseAutoSubmitForm(text)
  const res = await app.inject({
    method: 'POST',
    url: '/lti/1.3/launch',
    payload: new URLSearchParams(form.fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie }
  })
  return { status: res.statusCode, body: res.body, headers: res.headers }
}

/** A picker form post (fields repeated for multi-select). */
export async function pickerPost (app: FastifyInstance, path: string, fields: Array<[string, string]>): Promise<PageAnswer> {
  const res = await app.inject({
    method: 'POST',
    url: `/lti/1.3/deep-linking/${path}`,
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }
  })
  return { status: res.statusCode, body: res.body, headers: res.headers }
}

/** The signed selection token the picker's forms carry. */
export function selectionTokenOf (html: string): string {
  const m = /name="selection" value="([^"]+)"/.exec(html)
  if (m === null) throw new Error('no selection token in page')
  return m[1] as string
}

/** The JWT of the answer page and where it is posted. */
export function answerOf (html: string): { action: string, jwt: string } {
  const form = parseAutoSubmitForm(html)
  return { action: form.action, jwt: form.fields.JWT as string }
}

export async function toolJwks (app: FastifyInstance): Promise<JSONWebKeySet> {
  return (await app.inject({ method: 'GET', url: '/lti/1.3/jwks' })).json() as JSONWebKeySet
}
