import t from 'tap'
import { PassThrough } from 'node:stream'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { collect, defined, formatRecord, listOption, nullableOption, parseId, parseInteger, readSecret } from '../../src/admin/cli-support.js'

t.test('numbers are parsed strictly', async t => {
  t.equal(parseId('42', 'id'), 42)
  for (const bad of ['0', '-1', '1.5', '1e3', ' 1', 'abc', '', '0x10']) t.throws(() => parseId(bad, 'id'), { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'id' }] } }, bad)
  t.equal(parseInteger('-5', 'n'), -5)
  t.throws(() => parseInteger('5s', 'n'), { code: 'ADMIN_INVALID_FIELDS' })
})

t.test('option helpers', async t => {
  t.same(collect('b', collect('a', undefined)), ['a', 'b'])
  t.same(collect('a', false), ['a'])
  t.equal(listOption(undefined), undefined)
  t.same(listOption(false), [])
  t.same(listOption(['x']), ['x'])
  t.equal(nullableOption(undefined), undefined)
  t.equal(nullableOption(false), null)
  t.equal(nullableOption('v'), 'v')
  t.same(defined({ a: 1, b: undefined, c: null, d: false }), { a: 1, c: null, d: false })
  t.equal(formatRecord({ id: 1, list: ['a'], none: null }), 'id:   1\nlist: ["a"]\nnone: \n')
})

t.test('secrets come from the option, a file or standard input', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'lti-secret-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'secret')
  writeFileSync(file, 'from-file-secret\n')
  t.equal(await readSecret({}), undefined)
  t.equal(await readSecret({ secret: 'opt' }), 'opt')
  t.equal(await readSecret({ secretFile: file }), 'from-file-secret', 'one trailing newline dropped')
  writeFileSync(file, 'keeps inner\nlines\r\n')
  t.equal(await readSecret({ secretFile: file }), 'keeps inner\nlines')

  const stdin = new PassThrough()
  stdin.end('from-stdin-secret\n')
  t.equal(await readSecret({ secretFile: '-' }, stdin), 'from-stdin-secret')

  const huge = new PassThrough()
  huge.end('x'.repeat(5000))
  await t.rejects(readSecret({ secretFile: '-' }, huge), { code: 'ADMIN_INVALID_FIELDS' })
  await t.rejects(readSecret({ secret: 'a', secretFile: file }), { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'secret' }] } })
  const missing = await readSecret({ secretFile: join(dir, 'nope') }).catch((e: Error) => e)
  t.match(missing, { code: 'ADMIN_INVALID_FIELDS', details: { fields: [{ field: 'secretFile', message: /ENOENT/ }] } })
})
