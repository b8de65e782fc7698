/** Column decoding shared by the repositories: SQLite and MySQL store booleans as 0/1, lists as JSON text. */

export function bool (v: number | boolean): boolean {
  return v === true || Number(v) === 1
}

export function stringList (text: string, table: string, column: string): string[] {
  const value: unknown = JSON.parse(text)
  if (!Array.isArray(value) || !value.every(v => typeof v === 'string')) throw new Error(`${table}.${column} is not a JSON array of strings`)
  return value
}
