import {XMLParser, XMLValidator} from 'fast-xml-parser'
import {describe, expect, it} from 'vitest'

import {redact} from '../../src/engine/errors.js'
import type {Report} from '../../src/engine/types.js'
import {renderGithubAnnotations} from '../../src/report/github.js'
import {colorLevel, renderHuman, renderSections} from '../../src/report/human.js'
import {renderJunit} from '../../src/report/junit.js'

const report: Report = {
  tool: 'tetractl',
  command: 'doctor',
  version: '0.1.0',
  startedAt: '2026-11-27T00:00:00.000Z',
  durationMs: 1234,
  target: {context: 'lab'},
  summary: {pass: 1, warn: 1, fail: 1, skip: 0, notEvaluated: 1},
  checks: [
    {id: 'k8s.connect', layer: 'kubernetes', title: 't', status: 'pass', message: 'ok', durationMs: 3},
    {id: 'service.selector', layer: 'kubernetes', title: 't', status: 'fail', message: 'selector <app=tetragon> & "x"', hint: 'kubectl patch ...\nsecond line', docs: 'https://d', durationMs: 5},
    {id: 'service.endpoints', layer: 'kubernetes', title: 't', status: 'not-evaluated', message: 'requires service.selector, which failed', durationMs: 0},
    {id: 'tetragon.export', layer: 'tetragon', title: 't', status: 'warn', message: 'restarts: 100%', durationMs: 1},
  ],
  exitCode: 1,
}

describe('junit', () => {
  it('is valid XML with one testcase per check and the right failure/skip counts', () => {
    const xml = renderJunit(report)
    expect(XMLValidator.validate(xml)).toBe(true)
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: ''}).parse(xml)
    expect(doc.testsuites.tests).toBe('4')
    expect(doc.testsuites.failures).toBe('1')
    const suites = [doc.testsuites.testsuite].flat()
    expect(suites.map((s: any) => s.name)).toEqual(['kubernetes', 'tetragon'])
    const cases = suites.flatMap((s: any) => [s.testcase].flat())
    expect(cases.map((c: any) => c.name)).toEqual(['k8s.connect', 'service.selector', 'service.endpoints', 'tetragon.export'])
    expect(cases[1].failure.message).toBe('selector <app=tetragon> & "x"')
    expect(cases[2].skipped.message).toMatch(/^not-evaluated: requires/)
  })

  it('reports checks an interrupt stopped as <error>, never as a green skip', () => {
    const xml = renderJunit({
      ...report,
      interrupted: 'SIGINT',
      exitCode: 130,
      summary: {pass: 1, warn: 0, fail: 0, skip: 0, notEvaluated: 2},
      checks: [
        {id: 'k8s.connect', layer: 'kubernetes', title: 't', status: 'pass', message: 'ok', durationMs: 3},
        {id: 'service.selector', layer: 'kubernetes', title: 't', status: 'not-evaluated', message: 'interrupted (SIGINT)', interrupted: true, durationMs: 5},
        {id: 'service.endpoints', layer: 'kubernetes', title: 't', status: 'not-evaluated', message: 'interrupted (SIGINT)', interrupted: true, durationMs: 0},
      ],
    })
    expect(XMLValidator.validate(xml)).toBe(true)
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: ''}).parse(xml)
    expect(doc.testsuites.errors).toBe('2')
    expect(doc.testsuites.skipped).toBe('0')
    const cases = [doc.testsuites.testsuite.testcase].flat()
    expect(cases[1].error.message).toBe('interrupted (SIGINT)')
    expect(cases[1].error.type).toBe('SIGINT')
  })

  it('adds an error case when no check reached a verdict', () => {
    const xml = renderJunit({
      ...report,
      summary: {pass: 0, warn: 0, fail: 0, skip: 1, notEvaluated: 1},
      checks: [
        {id: 'k8s.connect', layer: 'kubernetes', title: 't', status: 'skip', message: 'skipped by --skip', durationMs: 0},
        {id: 'service.exists', layer: 'kubernetes', title: 't', status: 'not-evaluated', message: 'requires k8s.connect, which was skipped', durationMs: 0},
      ],
    })
    const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: ''}).parse(xml)
    expect(doc.testsuites.errors).toBe('1')
    const run = [doc.testsuites.testsuite].flat().find((s: any) => s.name === 'run')
    expect(run.testcase.error.message).toMatch(/^no check was evaluated \(k8s\.connect: skipped/)
  })
})

describe('human', () => {
  it('groups by layer, shows symbols and the fix under findings', () => {
    const out = renderHuman(report, {color: false})
    expect(out).toContain('Kubernetes\n  ✔ k8s.connect')
    expect(out).toMatch(/× service\.selector +selector <app=tetragon>/)
    expect(out).toMatch(/fix: kubectl patch \.\.\.\n +second line/)
    expect(out).toMatch(/– service\.endpoints +not evaluated: requires service\.selector/)
    expect(out).toMatch(/‼ tetragon\.export/)
    expect(out).toMatch(/Summary: 1 passed, 1 warning, 1 failed, 0 skipped, 1 not evaluated/)
    expect(out).not.toMatch(/\u001b\[/)
  })

  it('counts read right: "2 warnings", and -v evidence is pretty-printed JSON under the result, not one raw line', () => {
    const two = renderHuman({...report, summary: {...report.summary, warn: 2}}, {color: false})
    expect(two).toMatch(/Summary: 1 passed, 2 warnings, 1 failed/)
    const withEvidence = {...report, checks: [{...report.checks[3], evidence: {restarts: 3, containers: ['export-stdout']}}]}
    const out = renderHuman(withEvidence, {color: false, verbose: true}).split('\n')
    expect(out.some((l) => /^ +"restarts": 3,$/.test(l))).toBe(true)
    expect(out.some((l) => /^ +"export-stdout"$/.test(l))).toBe(true)
    expect(renderHuman(withEvidence, {color: false}).includes('restarts": 3')).toBe(false)
  })
})

describe('colour', () => {
  it('only on a TTY, never with NO_COLOR', () => {
    const saved = process.env.NO_COLOR
    try {
      delete process.env.NO_COLOR
      expect(colorLevel({isTTY: true} as any)).toBe(1)
      expect(colorLevel({isTTY: false} as any)).toBe(0)
      process.env.NO_COLOR = '1'
      expect(colorLevel({isTTY: true} as any)).toBe(0)
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR
      else process.env.NO_COLOR = saved
    }
    expect(renderHuman(report, {color: true})).toMatch(/\u001b\[/)
  })
})

describe('github annotations', () => {
  it('emits error and warning commands with escaped data', () => {
    const lines = renderGithubAnnotations(report)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toBe('::error title=tetractl service.selector::selector <app=tetragon> & "x"%0AFix: kubectl patch ...%0Asecond line%0ADocs: https://d')
    expect(lines[1]).toBe('::warning title=tetractl tetragon.export::restarts: 100%25')
  })
})

describe('redact', () => {
  it('removes bearer tokens, basic credentials, API keys and URL passwords', () => {
    const text = 'Authorization: Bearer abc.def.ghi token: s3cr3t https://elastic:changeme@host:9200 ApiKey Zm9vOmJhcg== password=hunter2'
    const out = redact(text)
    for (const secret of ['abc.def.ghi', 's3cr3t', 'changeme', 'Zm9vOmJhcg==', 'hunter2']) expect(out).not.toContain(secret)
  })
})

describe('renderSections fitted to a terminal width (validate on a terminal)', () => {
  const long = 'the agent answered with a message long enough that it cannot possibly fit on one line of an eighty column terminal without wrapping it twice'
  const report = {summary: {pass: 0, warn: 0, fail: 1, skip: 0, notEvaluated: 1}, durationMs: 1000, exitCode: 1}
  const results = [
    {id: 'grpc.whoami', status: 'fail' as const, message: long, hint: `# ${long}\nkubectl -n kube-system logs ds/tetragon -c export-stdout --since 10m --timestamps --prefix --all-containers --max-log-requests 10`, docs: 'https://tetragon.io/docs/concepts/events/'},
    {id: 'doc.whoami', status: 'not-evaluated' as const, message: long},
  ]
  for (const width of [80, 120]) {
    it(`at ${width} columns: prose wraps under itself, the command stays whole (from column 0 when it does not fit)`, () => {
      const lines = renderSections([{title: 'Tetragon', results}], report, {color: true, width}).split('\n')
      const plain = lines.map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''))
      const command = plain.find((l) => l.includes('kubectl -n kube-system logs'))!
      expect(command.trim()).toBe('kubectl -n kube-system logs ds/tetragon -c export-stdout --since 10m --timestamps --prefix --all-containers --max-log-requests 10')
      for (const l of plain) if (l !== command) expect([...l].length, l).toBeLessThanOrEqual(width)
      if ([...command].length > width) expect(command.startsWith('kubectl')).toBe(true)
      expect(plain.join(' ').replace(/\s+(#\s+)?/g, ' ')).toContain(long.split(' ').slice(0, 12).join(' '))
    })
  }
  it('without a width nothing is wrapped (pipes and CI get whole lines)', () => {
    const lines = renderSections([{title: 'Tetragon', results}], report, {color: false}).split('\n')
    expect(lines.some((l) => l.includes(long))).toBe(true)
  })
})
