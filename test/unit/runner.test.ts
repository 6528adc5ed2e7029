import {describe, expect, it} from 'vitest'

import {determineExitCode} from '../../src/engine/exit-codes.js'
import {ForbiddenError, UnreachableError} from '../../src/engine/errors.js'
import {runChecks, validateSelectors} from '../../src/engine/runner.js'
import {fail, pass, warn, type Check, type Outcome} from '../../src/engine/types.js'

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(t)
      resolve()
    })
  })

function check(id: string, requires: string[], run: (signal: AbortSignal) => Promise<Outcome> | Outcome, layer: Check['layer'] = 'kubernetes'): Check<unknown> {
  return {id, layer, title: id, requires, run: async (_ctx, signal) => run(signal)}
}

describe('runChecks', () => {
  it('starts a check\'s prefetch when it passes, before its dependants run, and never when it fails', async () => {
    const events: string[] = []
    const ok = {...check('a', [], () => pass('ok')), prefetchOnPass: (ctx: unknown) => void events.push(`prefetch a with ${String(ctx)}`)}
    const broken = {...check('x', [], () => fail('no')), prefetchOnPass: () => void events.push('prefetch x')}
    const registry = [ok, check('b', ['a'], () => (events.push('b'), pass('ok'))), broken]
    await runChecks(registry, 'ctx', {})
    expect(events).toEqual(['prefetch a with ctx', 'b'])
  })

  it('runs in dependency order and marks dependants of a failure not-evaluated with the reason', async () => {
    const order: string[] = []
    const registry = [
      check('a', [], () => (order.push('a'), pass('ok'))),
      check('b', ['a'], () => (order.push('b'), fail('broken'))),
      check('c', ['b'], () => (order.push('c'), pass('never'))),
      check('d', ['a'], () => (order.push('d'), warn('meh'))),
      check('e', ['d'], () => (order.push('e'), pass('warn is enough'))),
    ]
    const {results} = await runChecks(registry, {})
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ['a', 'pass'],
      ['b', 'fail'],
      ['c', 'not-evaluated'],
      ['d', 'warn'],
      ['e', 'pass'],
    ])
    expect(results[2].message).toBe('requires b, which failed')
    expect(order).not.toContain('c')
    expect(order.indexOf('a')).toBeLessThan(order.indexOf('b'))
  })

  it('runs independent checks concurrently, bounded by concurrency', async () => {
    let running = 0
    let peak = 0
    const slow = (id: string) =>
      check(id, [], async () => {
        running++
        peak = Math.max(peak, running)
        await sleep(40)
        running--
        return pass(id)
      })
    const registry = ['a', 'b', 'c', 'd', 'e', 'f'].map(slow)
    await runChecks(registry, {}, {concurrency: 3})
    expect(peak).toBe(3)
  })

  it('fails a check that exceeds its timeout and aborts its signal', async () => {
    let aborted = false
    const registry = [
      check('slow', [], async (signal) => {
        await sleep(5_000, signal)
        aborted = signal.aborted
        return pass('late')
      }),
    ]
    const started = Date.now()
    const {results} = await runChecks(registry, {}, {checkTimeoutMs: 50})
    expect(results[0].status).toBe('fail')
    expect(results[0].message).toMatch(/timed out after 50 ms/)
    expect(Date.now() - started).toBeLessThan(2_000)
    await sleep(10)
    expect(aborted).toBe(true)
  })

  it('stops at the global timeout and reports the rest not-evaluated', async () => {
    const registry = [check('a', [], () => pass('fast')), check('b', ['a'], (s) => sleep(5_000, s).then(() => pass('late'))), check('c', ['b'], () => pass('never'))]
    const {results, interrupted} = await runChecks(registry, {}, {globalTimeoutMs: 100, checkTimeoutMs: 10_000})
    expect(interrupted).toBe('timeout')
    expect(results.map((r) => r.status)).toEqual(['pass', 'not-evaluated', 'not-evaluated'])
    expect(determineExitCode(results, 'fail', interrupted)).toBe(1)
  })

  it('reports an interrupt as SIGINT with exit 130', async () => {
    const abort = new AbortController()
    const registry = [check('a', [], (s) => sleep(5_000, s).then(() => pass('late')))]
    setTimeout(() => abort.abort('SIGINT'), 30)
    const {results, interrupted} = await runChecks(registry, {}, {signal: abort.signal})
    expect(interrupted).toBe('SIGINT')
    expect(results[0]).toMatchObject({status: 'not-evaluated', interrupted: true})
    expect(determineExitCode(results, 'fail', interrupted)).toBe(130)
  })

  it('--only pulls in requirements, --skip marks dependants not-evaluated', async () => {
    const registry = [check('a', [], () => pass('a')), check('b', ['a'], () => pass('b')), check('x', [], () => pass('x'), 'elastic')]
    const only = await runChecks(registry, {}, {only: ['b']})
    expect(only.results.map((r) => r.id)).toEqual(['a', 'b'])
    const skipped = await runChecks(registry, {}, {skip: ['a']})
    expect(skipped.results.map((r) => `${r.id}:${r.status}`)).toEqual(['a:skip', 'b:not-evaluated', 'x:pass'])
    const byLayer = await runChecks(registry, {}, {only: ['elastic']})
    expect(byLayer.results.map((r) => r.id)).toEqual(['x'])
  })

  it('turns permission errors into not-evaluated naming the verb, and unreachable errors into exit 3', async () => {
    const registry = [
      check('forbidden', [], () => {
        throw new ForbiddenError('list', 'endpointslices', 'kube-system')
      }),
      check('down', [], () => {
        throw new UnreachableError('API down', 'start it')
      }),
    ]
    const {results} = await runChecks(registry, {})
    expect(results[0]).toMatchObject({status: 'not-evaluated', message: 'not allowed to list endpointslices in namespace kube-system'})
    expect(results[1]).toMatchObject({status: 'fail', unreachable: true})
    expect(determineExitCode(results, 'fail')).toBe(3)
  })

  it('rejects unknown ids in --only/--skip', () => {
    const registry = [check('a', [], () => pass('a'))]
    expect(() => validateSelectors(registry, ['nope'], '--only')).toThrow(/Unknown check id or layer for --only: nope/)
    expect(() => validateSelectors(registry, ['kubernetes', 'a'], '--only')).not.toThrow()
  })
})

describe('determineExitCode', () => {
  const r = (status: any) => ({id: status, layer: 'kubernetes' as const, title: '', durationMs: 0, status, message: ''})
  it('follows --fail-on', () => {
    expect(determineExitCode([r('pass'), r('warn')], 'fail')).toBe(0)
    expect(determineExitCode([r('pass'), r('warn')], 'warn')).toBe(1)
    expect(determineExitCode([r('fail')], 'fail')).toBe(1)
    expect(determineExitCode([r('skip'), r('pass')], 'warn')).toBe(0)
  })
  it('a run that evaluated no check is a finding, never a green exit', () => {
    expect(determineExitCode([r('skip'), r('not-evaluated')], 'warn')).toBe(1)
    expect(determineExitCode([r('skip')], 'fail')).toBe(1)
    expect(determineExitCode([], 'fail')).toBe(1)
  })
})
