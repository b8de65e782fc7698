/**
 * The services re-check their input against the same JSON schemas the routes declare, because the
 * CLI reaches them without Ajv in front. Problems come out as ADMIN_INVALID_FIELDS with the field
 * paths the HTTP error handler uses (`contentScope.0`), and never with the offending value: it may
 * be a secret.
 */
import type { TSchema, Static } from 'typebox'
import { Value } from 'typebox/value'
import { invalidFields, type FieldProblem } from './errors.js'

function fieldName (instancePath: string): string {
  return instancePath.replace(/^\//, '').replace(/\//g, '.')
}

function join (base: string, name: string): string {
  return base ? `${base}.${name}` : name
}

/**
 * A union of literals fails as one `const` error per literal and then `anyOf`: gathered here so the
 * answer lists the allowed values once ("must be one of: strict, record").
 */
function allowedConstants (errors: Array<{ keyword: string, instancePath: string, params: unknown }>): Map<string, string[]> {
  const allowed = new Map<string, string[]>()
  const unions = new Set(errors.filter(e => e.keyword === 'anyOf').map(e => e.instancePath))
  for (const e of errors) {
    const value = (e.params as { allowedValue?: unknown }).allowedValue
    if (e.keyword !== 'const' || !unions.has(e.instancePath) || (typeof value !== 'string' && typeof value !== 'number')) continue
    allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), String(value)])
  }
  return allowed
}

export function schemaProblems (schema: TSchema, value: unknown): FieldProblem[] {
  const problems: FieldProblem[] = []
  const errors = [...Value.Errors(schema, value)]
  const constants = allowedConstants(errors)
  for (const e of errors) {
    const at = fieldName(e.instancePath)
    const params = e.params as Record<string, unknown>
    if (e.keyword === 'boolean') continue // reported once more by the parent's additionalProperties
    if (e.keyword === 'const' && constants.has(e.instancePath)) continue // listed by the anyOf below
    if (e.keyword === 'anyOf' && constants.has(e.instancePath)) {
      problems.push({ field: at, message: `must be one of: ${constants.get(e.instancePath)!.join(', ')}` })
      continue
    }
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      problems.push({ field: at, message: `must be one of: ${params.allowedValues.map(String).join(', ')}` })
      continue
    }
    if (e.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
      for (const name of params.additionalProperties) problems.push({ field: join(at, String(name)), message: 'is not an allowed field' })
    } else if (e.keyword === 'required' && Array.isArray(params.requiredProperties)) {
      for (const name of params.requiredProperties) problems.push({ field: join(at, String(name)), message: 'is required' })
    } else if (e.keyword === 'pattern') {
      problems.push({ field: at, message: 'has characters or a form that is not allowed' })
    } else {
      problems.push({ field: at, message: e.message })
    }
  }
  problems.push(...notUnicodeText(value))
  const seen = new Set<string>()
  return problems.filter(p => {
    const k = p.field + '\u0000' + p.message
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/**
 * Strings with a lone UTF-16 surrogate (JSON allows `"\ud800"`) pass every schema but are not text:
 * the database drivers would store something else than what was accepted. Iterative, because the
 * value may be nested as deep as the body limit allows.
 */
function notUnicodeText (value: unknown): FieldProblem[] {
  const problems: FieldProblem[] = []
  const stack: Array<[unknown, string]> = [[value, '']]
  while (stack.length > 0) {
    const [v, at] = stack.pop() as [unknown, string]
    if (typeof v === 'string') {
      if (LONE_SURROGATE.test(v)) problems.push({ field: at, message: 'is not valid Unicode text' })
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) stack.push([child, join(at, LONE_SURROGATE.test(k) ? '?' : k)])
    }
  }
  return problems
}

export function assertSchema<S extends TSchema> (schema: S, value: unknown): asserts value is Static<S> {
  const problems = schemaProblems(schema, value)
  if (problems.length > 0) throw invalidFields(problems)
}
