// The live view of validate as pure functions (issue #14 item 4): the spinner line says what the running stage waits
// for and for how long, fits the terminal, and the sections printed as stages finish are exactly the plain report.
import {describe, expect, it} from 'vitest'

import {eraseLines, fit, liveProgress, plainProgress, printable, spinnerLine} from '../../src/services/validate/live.js'
import {renderStage, renderValidateHuman} from '../../src/services/validate/render.js'
import {STEPS, stepResult, type StepResult, type ValidateReport} from '../../src/services/validate/types.js'

const render = {color: false}

function preflightStep(id: string): StepResult {
  return {id, layer: 'kubernetes', title: id, durationMs: 1, status: 'pass', message: `${id} is fine`, stage: 'preflight'}
}

/** A run of slow-ingest: every step passes but the documents, which fail. */
function slowIngestSteps(): StepResult[] {
  return [
    preflightStep('k8s.connect'),
    preflightStep('tetragon.daemonset'),
    ...STEPS.map((d) =>
      stepResult(d.id, d.stage === 'elasticsearch' ? {status: 'fail', message: 'no document in logs-cilium_tetragon.log-* within --es-timeout 60.0 s', hint: 'kubectl -n kube-system logs ds/tetragon -c export-stdout --tail=20'} : {status: 'pass', message: `${d.id} ok`}),
    ),
  ]
}

function reportOf(steps: StepResult[]): ValidateReport {
  return {
    tool: 'tetractl',
    command: 'validate',
    version: '0.0.0',
    startedAt: new Date(0).toISOString(),
    durationMs: 61_000,
    target: {},
    run: {id: 'abc123', namespace: 'tetractl-validate-abc123', pod: 'tetractl-probe', node: 'node-1', created: true, kept: false, image: 'curl', url: 'http://google.com', profile: 'package', dataset: 'cilium_tetragon.log'},
    summary: {pass: steps.filter((s) => s.status === 'pass').length, warn: 0, fail: steps.filter((s) => s.status === 'fail').length, skip: 0, notEvaluated: 0},
    checks: steps,
    exitCode: 1,
  }
}

/** A terminal that records what is drawn on it. */
function fakeTerminal(columns?: number) {
  const writes: string[] = []
  return {writes, columns, write: (s: string) => writes.push(s)}
}

describe('spinner line', () => {
  it('names the stage, its elapsed time and what it waits for, with that wait\'s own clock and bound', () => {
    const line = spinnerLine({stage: 'elasticsearch', startedAt: 1000, since: 3000, what: 'waiting for 3 documents in logs-cilium_tetragon.log-*', boundMs: 60_000}, 15_500, 0)
    expect(line).toBe('⠋ Elasticsearch (14 s): waiting for 3 documents in logs-cilium_tetragon.log-*, 12 s of 60 s')
  })

  it('without a bound, only the stage clock; the frame turns', () => {
    expect(spinnerLine({stage: 'trigger', startedAt: 0, since: 0, what: 'running whoami in ns/pod'}, 2000, 1)).toBe('⠙ Trigger (2 s): running whoami in ns/pod')
  })

  it('is cut to the terminal width (a wrapped line could not be redrawn in place) and keeps no control character', () => {
    const what = `waiting for pod \u001B[31mevil\u001B[0m/${'x'.repeat(200)} to run`
    const line = spinnerLine({stage: 'trigger', startedAt: 0, since: 0, what, boundMs: 120_000}, 0, 0, 80)
    expect([...line].length).toBeLessThanOrEqual(79)
    expect(line.endsWith('…')).toBe(true)
    expect(line).not.toMatch(/\u001B/)
    expect(fit('short', 80)).toBe('short')
    expect(fit('no width known', undefined)).toBe('no width known')
  })

  it('erases exactly the lines it drew', () => {
    expect(eraseLines(0)).toBe('')
    expect(eraseLines(1)).toBe('\r\u001B[2K')
    expect(eraseLines(2)).toBe('\r\u001B[2K\u001B[1A\u001B[2K')
  })
})

describe('stages printed as they finish', () => {
  it('in stage order only: a later stage waits for the earlier ones', () => {
    expect(printable(new Set(['preflight', 'trigger']), new Set())).toEqual(['preflight', 'trigger'])
    expect(printable(new Set(['trigger']), new Set())).toEqual([])
    expect(printable(new Set(['preflight', 'trigger', 'tetragon']), new Set(['preflight']))).toEqual(['trigger', 'tetragon'])
  })

  it('prints preflight, trigger and gRPC while the Elasticsearch stage still waits; the text is the plain report', () => {
    const all = slowIngestSteps()
    const steps: StepResult[] = []
    const logged: string[] = []
    const err = fakeTerminal(120)
    let t = 0
    const live = liveProgress({steps, log: (s) => logged.push(s), err, render, now: () => t, intervalMs: 3_600_000})
    const stage = (name: StepResult['stage']) => steps.push(...all.filter((s) => s.stage === name))

    live.waiting('preflight', '0 of 2 doctor checks done')
    stage('preflight')
    live.finish('preflight')
    live.waiting('trigger', 'running whoami in tetractl-validate-abc123/tetractl-probe')
    stage('trigger')
    live.finish('trigger')
    live.waiting('tetragon', 'waiting for 8 of 8 events on the stream of kube-system/tetragon-x', 15_000)
    stage('tetragon')
    live.finish('tetragon')
    t = 2000
    live.waiting('elasticsearch', 'waiting for 5 documents in logs-cilium_tetragon.log-*', 60_000)
    t = 14_000
    live.waiting('elasticsearch', 'waiting for 5 documents in logs-cilium_tetragon.log-*', 60_000)

    // Three sections are out, the Elasticsearch one is not, and the spinner says what is awaited.
    expect(logged.map((l) => l.split('\n')[0])).toEqual(['Preflight (doctor checks)', 'Trigger (exec in the probe pod)', "Tetragon (gRPC event stream of the probe node's agent)"])
    expect(err.writes.at(-1)).toContain('Elasticsearch (12 s): waiting for 5 documents in logs-cilium_tetragon.log-*, 12 s of 60 s')

    stage('elasticsearch')
    live.finish('elasticsearch')
    live.waiting('cleanup', 'deleting namespace tetractl-validate-abc123', 20_000)
    stage('cleanup')
    live.finish('cleanup')
    const rest = live.rest(reportOf(all))
    // What the terminal got on stdout, in pieces, is what a pipe gets at the end.
    expect(`${logged.join('\n')}\n${rest}`).toBe(renderValidateHuman(reportOf(all), render))
    expect(rest).toMatch(/^probe tetractl-validate-abc123\/tetractl-probe on node-1/)
    // The spinner is gone and stays gone.
    expect(err.writes.at(-1)).toBe('\r\u001B[2K')
    const count = err.writes.length
    live.waiting('cleanup', 'late')
    expect(err.writes.length).toBe(count)
  })

  it('a stage an interrupt cut short is not printed live; its section (not evaluated) comes with the rest', () => {
    const all = slowIngestSteps()
    const steps: StepResult[] = []
    const logged: string[] = []
    const err = fakeTerminal(120)
    const live = liveProgress({steps, log: (s) => logged.push(s), err, render, now: () => 0, intervalMs: 3_600_000})
    for (const s of ['preflight', 'trigger', 'tetragon'] as const) {
      steps.push(...all.filter((x) => x.stage === s))
      live.finish(s)
    }
    live.waiting('elasticsearch', 'waiting for 5 documents in logs-cilium_tetragon.log-*', 60_000)
    // Ctrl-C: cleanup starts; the Elasticsearch spinner ends with it (one spinner line, not two).
    live.waiting('cleanup', 'deleting namespace tetractl-validate-abc123', 20_000)
    expect(err.writes.at(-1)!.split('\n')).toHaveLength(1)
    expect(err.writes.at(-1)).toContain('Cleanup')
    live.finish('cleanup')
    expect(logged).toHaveLength(3)
    const interrupted = all.map((s) => (s.stage === 'elasticsearch' ? {...s, status: 'not-evaluated' as const, message: 'interrupted (SIGINT)', interrupted: true} : s))
    const rest = live.rest(reportOf(interrupted))
    expect(rest.split('\n')[0]).toBe('Elasticsearch (documents of the events)')
    expect(rest).toContain('Cleanup')
    expect(`${logged.join('\n')}\n${rest}`).toBe(renderValidateHuman(reportOf(interrupted), render))
  })

  it('without a terminal nothing is drawn and the whole report comes at the end', () => {
    const all = slowIngestSteps()
    const plain = plainProgress(render)
    plain.waiting('elasticsearch', 'waiting', 1000)
    plain.finish('elasticsearch')
    expect(plain.rest(reportOf(all))).toBe(renderValidateHuman(reportOf(all), render))
  })

  it('a stage section is the shared renderer\'s lines for its steps, and nothing for a stage without steps', () => {
    const all = slowIngestSteps()
    const section = renderStage('tetragon', all, render)
    expect(section[0]).toBe("Tetragon (gRPC event stream of the probe node's agent)")
    expect(section.slice(1).map((l) => l.trim().split(/\s+/)[1])).toEqual(['grpc.whoami', 'grpc.curl', 'grpc.connect', 'grpc.cat', 'grpc.file'])
    expect(renderStage('cleanup', [], render)).toEqual([])
  })
})
