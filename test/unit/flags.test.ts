// Doctor's settings as another command (setup) reads them: oclif's own resolution of each flag's `env:` and
// `default:` (README "doctor" options), with nothing on the command line.
import {afterEach, describe, expect, test} from 'vitest'

import {DOCUMENTED_COLLECTOR_ADDRESS} from '../../src/defaults.js'
import {doctorFlagSet, flagsFromEnvironment} from '../../src/flags.js'

const VARS = ['TETRACTL_COLLECTOR_ADDRESS', 'TETRACTL_TETRAGON_ADDRESS', 'TETRACTL_SCHEMA_SAMPLE', 'TETRACTL_METRICS_WINDOW', 'ELASTICSEARCH_URL', 'KIBANA_URL']
const saved = Object.fromEntries(VARS.map((k) => [k, process.env[k]]))

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

describe('flagsFromEnvironment', () => {
  test('the documented defaults, durations in milliseconds', async () => {
    for (const k of VARS) delete process.env[k]
    const f = await flagsFromEnvironment(doctorFlagSet)
    expect(f['collector-address']).toBe(DOCUMENTED_COLLECTOR_ADDRESS)
    expect(f['service-name']).toBe('tetragon-grpc')
    expect(f.profile).toBe('auto')
    expect([f['request-timeout'], f['grpc-timeout'], f['schema-sample'], f['metrics-window']]).toEqual([10_000, 5_000, 3_000, 2_000])
    expect([f['max-age'], f.window, f.timeout, f['check-timeout']]).toEqual([15 * 60_000, 3_600_000, 60_000, 20_000])
    expect(f.concurrency).toBe(8)
    expect(f['fail-on']).toBe('fail')
    expect([f['tetragon-address'], f['es-url'], f['kibana-url']]).toEqual([undefined, undefined, undefined])
    expect(f.fix).toBeFalsy()
  })

  test('each documented environment variable replaces its default', async () => {
    process.env.TETRACTL_COLLECTOR_ADDRESS = 'tetragon.example:54321'
    process.env.TETRACTL_TETRAGON_ADDRESS = 'unix:///var/run/tetragon/tetragon.sock'
    process.env.TETRACTL_SCHEMA_SAMPLE = '500ms'
    process.env.TETRACTL_METRICS_WINDOW = '1m'
    process.env.ELASTICSEARCH_URL = 'https://es.example:9200'
    process.env.KIBANA_URL = 'https://kb.example:5601'
    const f = await flagsFromEnvironment(doctorFlagSet)
    expect(f['collector-address']).toBe('tetragon.example:54321')
    expect(f['tetragon-address']).toBe('unix:///var/run/tetragon/tetragon.sock')
    expect([f['schema-sample'], f['metrics-window']]).toEqual([500, 60_000])
    expect([f['es-url'], f['kibana-url']]).toEqual(['https://es.example:9200', 'https://kb.example:5601'])
  })

  test('a variable is held to its flag\'s rule and named in the error', async () => {
    process.env.TETRACTL_METRICS_WINDOW = 'soon'
    await expect(flagsFromEnvironment(doctorFlagSet)).rejects.toThrow(/TETRACTL_METRICS_WINDOW \(--metrics-window\) must be a duration/)
  })
})
