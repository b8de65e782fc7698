import { lti13Error } from './errors.js'

/**
 * Typed reads of untrusted JSON claims. A missing claim and a claim of the wrong shape get
 * different codes (LTI13_MISSING_CLAIM / LTI13_INVALID_CLAIM) and always name the claim, so an
 * admin can tell a platform bug from a configuration gap.
 */

export type Claims = Record<string, unknown>

export const MAX_ID_LENGTH = 255

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function invalid (claim: string, reason: string): Error {
  return lti13Error('LTI13_INVALID_CLAIM', { claim, reason })
}

export function requiredString (source: Claims, name: string, claim = name, max = 4096): string {
  const value = source[name]
  if (value === undefined || value === null || value === '') throw lti13Error('LTI13_MISSING_CLAIM', { claim })
  if (typeof value !== 'string') throw invalid(claim, 'not a string')
  if (value.length > max) throw invalid(claim, 'too long')
  return value
}

export function optionalString (source: Claims, name: string, claim = name, max = 4096): string | undefined {
  const value = source[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalid(claim, 'not a string')
  if (value.length > max) throw invalid(claim, 'too long')
  return value
}

export function optionalRecord (source: Claims, name: string, claim = name): Record<string, unknown> | undefined {
  const value = source[name]
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) throw invalid(claim, 'not an object')
  return value
}

export function stringArray (value: unknown, claim: string): string[] {
  if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) throw invalid(claim, 'not an array of strings')
  return value
}

export function optionalNumber (source: Claims, name: string, claim = name): number | undefined {
  const value = source[name]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(claim, 'not a number')
  return value
}

export function requiredNumericDate (source: Claims, name: 'exp' | 'iat'): number {
  const value = source[name]
  if (value === undefined || value === null) throw lti13Error('LTI13_MISSING_CLAIM', { claim: name })
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(name, 'not a NumericDate')
  return value
}
