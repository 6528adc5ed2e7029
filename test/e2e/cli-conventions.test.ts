// The conventions people type by habit: -h on every command, `version` and --version, shell completion,
// and "Did you mean …?" for commands, flags and check ids.
import {spawnSync} from 'node:child_process'
import {describe, expect, test} from 'vitest'
import {BIN, runCli, tempDir} from '../helpers.js'

const COMMANDS = [['doctor'], ['validate'], ['setup'], ['events'], ['sandbox', 'list'], ['sandbox', 'start']]

describe('CLI conventions', () => {
  test.each(COMMANDS)('-h works on %s %s', async (...cmd) => {
    const r = await runCli([...cmd.filter(Boolean), '-h'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('USAGE')
    expect(r.stdout).toContain(`$ tetractl ${cmd.filter(Boolean).join(' ')}`)
  })

  test('`tetractl version` and `--version` print the version', async () => {
    const {version} = (await import('../../package.json', {with: {type: 'json'}})).default as {version: string}
    for (const args of [['version'], ['--version']]) {
      const r = await runCli(args)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^tetractl/${version.replace(/\./g, '\\.')} `))
    }
  })

  test('`tetractl autocomplete bash` prints the setup instructions', async () => {
    const r = await runCli(['autocomplete', 'bash'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/autocomplete/i)
    expect(r.stdout).toContain('bash')
  })

  test('a mistyped flag: exit 2 with the closest flag', async () => {
    const r = await runCli(['doctor', '--onyl', 'es.connect'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain('Did you mean --only?')
  })

  test('a flag far from every other: no suggestion', async () => {
    const r = await runCli(['doctor', '--zzzzzzzz'])
    expect(r.code).toBe(2)
    expect(r.stderr).not.toContain('Did you mean')
  })

  test('a mistyped check id or layer: exit 2 with the closest ids', async () => {
    const r = await runCli(['doctor', '--only', 'es.feilds,kubernets'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Did you mean es.fields, kubernetes?')
  })

  test('an unknown command without a terminal: exit 127, points at help', async () => {
    const r = await runCli(['docter'])
    expect(r.code).toBe(127)
    expect(r.stderr).toContain('docter is not a tetractl command')
    expect(r.stderr).toContain('tetractl help')
  })

  // plugin-not-found asks only on a terminal; `script` gives the command one (util-linux, present on Debian).
  test.skipIf(spawnSync('script', ['--version']).error)('an unknown command on a terminal offers the closest command', () => {
    const r = spawnSync('script', ['-qfec', `${process.execPath} ${BIN} docter`, '/dev/null'], {
      input: 'n\n',
      env: {PATH: process.env.PATH, HOME: tempDir('tetractl-home-'), TERM: 'xterm'},
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(r.stdout).toMatch(/Did you mean .*doctor/)
    expect(r.status).toBe(127)
  })
})
