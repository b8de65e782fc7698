/**
 * The one error type the service throws on purpose. `code` is stable (documented in the README's
 * troubleshooting table and asserted by tests); `status` is the HTTP status a route answers with;
 * `message` is safe to show to a learner or an admin (never a secret, never a stack).
 *
 * Framework-free on purpose: the LTI core, the platform client and the grade pipeline throw it,
 * and the root error handler in src/app.ts turns it into a page or JSON.
 */
export class AppError extends Error {
  readonly code: string
  readonly status: number
  /** Extra, non-secret facts for logs and admin JSON (field errors, skew seconds…). */
  readonly details: Record<string, unknown> | undefined

  constructor (code: string, status: number, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'AppError'
    this.code = code
    this.status = status
    this.details = details
  }
}

export function isAppError (err: unknown): err is AppError {
  return err instanceof AppError
}

/**
 * Declares a family of codes with their statuses in one place, and returns a typed factory.
 *   const E = defineErrors({ LTI11_BAD_SIGNATURE: [401, 'The launch signature is not valid.'] })
 *   throw E('LTI11_BAD_SIGNATURE', { skew: 3 })
 */
export function defineErrors<const T extends Record<string, readonly [number, string]>> (table: T) {
  const make = (code: keyof T & string, details?: Record<string, unknown>, options?: { cause?: unknown; message?: string }): AppError => {
    const [status, message] = table[code] as readonly [number, string]
    return new AppError(code, status, options?.message ?? message, details, options)
  }
  return Object.assign(make, { codes: table })
}

/** Every registered family, so the README/troubleshooting test can list all codes. */
export const errorFamilies: Array<Record<string, readonly [number, string]>> = []
export function registerErrors<const T extends Record<string, readonly [number, string]>> (table: T) {
  errorFamilies.push(table)
  return defineErrors(table)
}
