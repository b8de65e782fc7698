/** `--name value` pairs and `--flag` switches of a bench script. */
export function parseArgs (argv: string[] = process.argv.slice(2)): Map<string, string> {
  const args = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]!.replace(/^--/, '')
    const value = argv[i + 1]
    if (value === undefined || value.startsWith('--')) {
      args.set(name, 'true')
    } else {
      args.set(name, value)
      i++
    }
  }
  return args
}

export function numberArg (args: Map<string, string>, name: string, fallback: number): number {
  const raw = args.get(name)
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`)
  return value
}
