/**
 * The database's LTI 1.3 registrations seen through the core's interfaces: row → core
 * registration, the hosts a registration's URLs may be on, and a per-request lookup that keeps the
 * full records it loaded (content scope, PII flag, migration link…) for the launch service.
 */
import type { Knex } from 'knex'
import { normalizeHost } from '../../http/host-allow-list.js'
import { SignatureAlgorithms, type FindRegistrations, type Lti13Registration, type RegistrationId, type SignatureAlgorithm } from '../../lti/v13/registration.js'
import { createLti13RegistrationsRepository, type Lti13RegistrationRecord } from '../../db/repositories/lti13-registrations-repository.js'

export function toCoreRegistration (r: Lti13RegistrationRecord): Lti13Registration {
  return {
    id: r.id,
    issuer: r.issuer,
    clientId: r.clientId,
    authLoginUrl: r.authLoginUrl,
    jwksUrl: r.jwksUrl,
    authTokenUrl: r.authTokenUrl,
    active: r.active,
    deploymentPolicy: r.deploymentPolicy,
    // Unknown names are dropped here and again by the core's allow-list: never HS*/none.
    algorithms: r.allowedAlgorithms.filter((a): a is SignatureAlgorithm => (SignatureAlgorithms as readonly string[]).includes(a)),
    maxTokenAgeSeconds: r.tokenMaxAge,
    allowAnonymous: r.allowAnonymous
  }
}

function hostOf (url: string): string | undefined {
  try {
    const host = normalizeHost(new URL(url).hostname)
    return host === '' ? undefined : host
  } catch {
    return undefined
  }
}

/** Hosts AGS line items may be on: the issuer's host plus the admin's `allowedHosts`. */
export function lineitemHosts (r: Pick<Lti13RegistrationRecord, 'issuer' | 'allowedHosts'>): string[] {
  const issuerHost = hostOf(r.issuer)
  return [...(issuerHost === undefined ? [] : [issuerHost]), ...r.allowedHosts]
}

/** Hosts the platform JWKS may be fetched from: line item hosts plus the configured JWKS and token URL hosts. */
export function jwksHosts (r: Pick<Lti13RegistrationRecord, 'issuer' | 'allowedHosts' | 'jwksUrl' | 'authTokenUrl'>): string[] {
  const extra = [hostOf(r.jwksUrl), hostOf(r.authTokenUrl)].filter((h): h is string => h !== undefined)
  return [...new Set([...lineitemHosts(r), ...extra])]
}

export interface RegistrationLookup {
  find: FindRegistrations
  /** A record `find` returned during this request. */
  loaded (id: RegistrationId): Lti13RegistrationRecord | undefined
}

/** `onLoaded` sees every record read (the JWKS fetcher learns each JWKS URL's allowed hosts from it). */
export function createRegistrationLookup (knex: Knex, onLoaded?: (record: Lti13RegistrationRecord) => void): RegistrationLookup {
  const repository = createLti13RegistrationsRepository(knex)
  const seen = new Map<string, Lti13RegistrationRecord>()
  return {
    async find (issuer, clientId) {
      const records = await repository.findByIssuer(issuer, clientId)
      for (const r of records) {
        seen.set(String(r.id), r)
        onLoaded?.(r)
      }
      return records.map(toCoreRegistration)
    },
    loaded: id => seen.get(String(id))
  }
}
