/**
 * An open content selection: a row in `deep_linking_selections` holding what the answer needs,
 * and a signed token (HS256, key derived from SECRET_KEY, 30 minutes) naming it, carried by the
 * picker's forms. The token proves we issued it; the row makes it single use (taken on submit or
 * cancel). No cookie is involved, so the picker works in the platform's iframe and in a new window.
 */
import { hkdfSync, randomBytes } from 'node:crypto'
import { SignJWT, jwtVerify } from 'jose'
import type { Knex } from 'knex'
import { createDeepLinkingSelectionsRepository } from '../../../db/repositories/deep-linking-selections-repository.js'
import { deepLinkingError } from './errors.js'

export const SELECTION_TTL_SECONDS = 1800
const TOKEN_TYPE = 'dl-selection'

/** What the answer needs, stored at open time from the validated request. */
export interface SelectionSettings {
  returnUrl: string
  data: string | undefined
  acceptMultiple: boolean
  acceptLineItem: boolean
  contextTitle: string | undefined
}

export interface OpenSelection {
  selectionId: string
  registrationId: number
  deploymentId: string
  settings: SelectionSettings
}

export function deriveSelectionKey (secretKey: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secretKey, 'openedx-lti-provider', 'lti13 deep linking selection v1', 32))
}

export function createSelections (deps: { knex: Knex, key: Uint8Array, now: () => number }) {
  const repo = createDeepLinkingSelectionsRepository(deps.knex)
  let opensSincePurge = 0

  async function verify (token: unknown): Promise<string> {
    if (typeof token !== 'string' || token === '' || token.length > 1024) throw deepLinkingError('DEEP_LINKING_SELECTION_INVALID')
    try {
      const { payload } = await jwtVerify(token, deps.key, { algorithms: ['HS256'], typ: TOKEN_TYPE, currentDate: new Date(deps.now()) })
      if (typeof payload.sid !== 'string') throw new Error('no selection id')
      return payload.sid
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_JWT_EXPIRED') throw deepLinkingError('DEEP_LINKING_SELECTION_EXPIRED')
      throw deepLinkingError('DEEP_LINKING_SELECTION_INVALID')
    }
  }

  return {
    async open (selection: Omit<OpenSelection, 'selectionId'>): Promise<{ token: string, selectionId: string }> {
      const at = deps.now()
      // Abandoned pickers leave rows behind: every 50th open sweeps expired ones (as logins do for states).
      if (++opensSincePurge >= 50) {
        opensSincePurge = 0
        await repo.purgeExpired(at)
      }
      const selectionId = randomBytes(18).toString('base64url')
      await repo.insert({
        selectionId,
        registrationId: selection.registrationId,
        deploymentId: selection.deploymentId,
        settings: JSON.stringify(selection.settings),
        expiresAt: at + SELECTION_TTL_SECONDS * 1000
      }, at)
      const iat = Math.floor(at / 1000)
      const token = await new SignJWT({ sid: selectionId })
        .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPE })
        .setIssuedAt(iat)
        .setExpirationTime(iat + SELECTION_TTL_SECONDS)
        .sign(deps.key)
      return { token, selectionId }
    },

    /** The open selection a token names; refused when forged, expired or already answered. */
    async read (token: unknown): Promise<OpenSelection> {
      const selectionId = await verify(token)
      const row = await repo.find(selectionId, deps.now())
      if (row === undefined) throw deepLinkingError('DEEP_LINKING_SELECTION_EXPIRED')
      return { selectionId, registrationId: row.registrationId, deploymentId: row.deploymentId, settings: JSON.parse(row.settings) as SelectionSettings }
    },

    /** Single use: true for the one request that closes the selection. */
    async take (selectionId: string): Promise<void> {
      if (!await repo.take(selectionId, deps.now())) throw deepLinkingError('DEEP_LINKING_SELECTION_EXPIRED')
    }
  }
}

export type Selections = ReturnType<typeof createSelections>
