// The export filter evaluation shared by validate (one probe event) and tetragon.export-filters (whole namespaces).
import {describe, expect, it} from 'vitest'

import {CHART_DEFAULT_ALLOW, CHART_DEFAULT_DENY, exportKeeps, parseFilterLines, typesNeverExported} from '../../src/tetragon/export-filter.js'

const chart = {allow: CHART_DEFAULT_ALLOW, deny: CHART_DEFAULT_DENY}

describe('export filters (the agent export allow/deny lists)', () => {
  it('chart defaults: kube-system, cilium and host processes dropped, other namespaces kept', () => {
    expect(exportKeeps(chart, {type: 'PROCESS_EXEC', namespace: 'default'}).kept).toBe(true)
    expect(exportKeeps(chart, {type: 'PROCESS_KPROBE', namespace: 'kube-system'})).toEqual({kept: false, because: 'export-denylist {"namespace":["","cilium","kube-system"]} drops PROCESS_KPROBE in namespace kube-system'})
    expect(exportKeeps(chart, {type: 'PROCESS_EXEC', namespace: ''}).kept).toBe(false)
    expect(typesNeverExported(CHART_DEFAULT_ALLOW)).toEqual(['PROCESS_LOADER', 'PROCESS_THROTTLE', 'PROCESS_USDT'])
  })

  it('a namespace-level question is unknown when a filter depends on the pod; namespace_regex is evaluated', () => {
    const byPod = {allow: '{"pod_regex":["^xwing"]}', deny: ''}
    expect(exportKeeps(byPod, {type: 'PROCESS_EXEC', namespace: 'default'}).kept).toBe('unknown')
    expect(exportKeeps(byPod, {type: 'PROCESS_EXEC', namespace: 'default', pod: 'xwing-1', binary: '/bin/sh'}).kept).toBe(true)
    const byRegex = {allow: '{"namespace_regex":["^team-"]}', deny: ''}
    expect(exportKeeps(byRegex, {type: 'PROCESS_EXEC', namespace: 'team-a'}).kept).toBe(true)
    expect(exportKeeps(byRegex, {type: 'PROCESS_EXEC', namespace: 'default'}).kept).toBe(false)
    // An empty allow list keeps everything.
    expect(exportKeeps({allow: '', deny: ''}, {type: 'PROCESS_EXIT', namespace: 'x'}).kept).toBe(true)
  })

  it('names the first line that is not a JSON filter object', () => {
    expect(parseFilterLines('{"event_set":["PROCESS_EXEC"]}\n\n[1]').bad).toEqual({line: 3, text: '[1]'})
    expect(exportKeeps({allow: 'nope', deny: ''}, {type: 'PROCESS_EXEC', namespace: 'x'}).kept).toBe('unknown')
  })
})
