// tetragon.export-filters against an in-memory cluster: where the lists come from (container args > TETRAGON_*
// environment > the chart's ConfigMap > no filter) and what they drop of the namespaces you care about.
import {describe, expect, it} from 'vitest'

import type {DoctorOptions} from '../../src/checks/context.js'
import {exportFilterConfig, tetragonExportFilters} from '../../src/checks/tetragon/export-filters.js'
import {CHART_DEFAULT_ALLOW, CHART_DEFAULT_DENY} from '../../src/tetragon/export-filter.js'
import {agentDaemonSet, agentPod, FakeCluster, fakeCheckContext, tetragonConfig, type ClusterObjects} from '../fakes/cluster.js'

const NAMESPACES = ['cilium', 'default', 'kube-system', 'payments']
const chartConfig = tetragonConfig({'export-allowlist': CHART_DEFAULT_ALLOW, 'export-denylist': CHART_DEFAULT_DENY})

function objects(over: ClusterObjects = {}): ClusterObjects {
  return {daemonSets: [agentDaemonSet()], pods: [agentPod(0)], configMaps: [chartConfig], namespaces: NAMESPACES, ...over}
}

async function check(over: ClusterObjects = {}, opts: Partial<DoctorOptions> = {}) {
  const ctx = fakeCheckContext(new FakeCluster(objects(over)), opts)
  return {result: await tetragonExportFilters.run(ctx, new AbortController().signal), config: await exportFilterConfig(ctx)}
}

describe('tetragon.export-filters', () => {
  it('chart defaults: passes, and reports the namespaces the default deny list drops', async () => {
    const {result, config} = await check()
    expect(config.source).toBe('ConfigMap')
    expect(result.status).toBe('pass')
    expect(result.message).toBe('the export keeps PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE events of all 2 other namespaces and new ones (filters from the ConfigMap); it drops cilium, kube-system (the chart\'s default deny list), drops health-check execs, never exports PROCESS_LOADER, PROCESS_THROTTLE, PROCESS_USDT')
  })

  it('reads every page of namespaces (the API lists them by name)', async () => {
    const many = Array.from({length: 1203}, (_, i) => `team-${i}`)
    const {result} = await check({namespaces: many, configMaps: [tetragonConfig({'export-allowlist': '{"namespace":["team-0"]}'})]})
    expect(result.status).toBe('fail')
    expect(result.message).toContain('of 1202 of 1203 namespaces you care about (team-1, team-10, team-100, team-1000, team-1001, … (1202))')
  })

  it('container args win over the ConfigMap', async () => {
    const {result, config} = await check({daemonSets: [agentDaemonSet({args: ['--config-dir=/etc/tetragon/tetragon.conf.d/', '--export-allowlist={"namespace":["default"]}']})]})
    expect(config).toMatchObject({allow: '{"namespace":["default"]}', source: 'container args'})
    expect(result.status).toBe('fail')
    expect(result.message).toMatch(/^the export filters drop PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE events of 1 of 4 namespaces you care about \(payments\) and any namespace created later \(like validate's probe namespace\)/)
    expect(result.hint).toContain(`--set-string 'tetragon.exportAllowList={"event_set":["PROCESS_EXEC"\\,"PROCESS_EXIT"`)
  })

  it('the TETRAGON_ environment wins over the ConfigMap, args over both', async () => {
    const env = {TETRAGON_EXPORT_DENYLIST: '{"namespace":["payments"]}'}
    const fromEnv = await check({daemonSets: [agentDaemonSet({env})]})
    expect(fromEnv.config).toMatchObject({deny: '{"namespace":["payments"]}', source: 'environment'})
    expect(fromEnv.result.status).toBe('fail')
    expect(fromEnv.result.message).toContain('events of 1 of 4 namespaces you care about (payments)')
    expect(fromEnv.result.hint).toContain(`--set-string 'tetragon.exportDenyList={"health_check":true}'`)
    const both = await check({daemonSets: [agentDaemonSet({env, args: ['--export-denylist=']})]})
    expect(both.config).toMatchObject({deny: '', source: 'container args'})
  })

  it('with --event-namespace, a namespace the chart denies is a finding', async () => {
    const {result} = await check({}, {eventNamespaces: ['kube-system']})
    expect(result.status).toBe('fail')
    expect(result.message).toMatch(/^the export filters drop PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE events of 1 of 1 namespace you care about \(kube-system\): export-denylist/)
  })

  it('a line that is not a JSON filter fails, naming the line', async () => {
    const {result} = await check({configMaps: [tetragonConfig({'export-denylist': '{"health_check":true}\nnamespace: kube-system'})]})
    expect(result.status).toBe('fail')
    expect(result.message).toBe('export-denylist line 2 is not a JSON filter object (namespace: kube-system): the lists are one JSON Filter per line')
    expect(result.hint).toBe(`kubectl -n kube-system get configmap tetragon-config -o jsonpath='{.data.export-denylist}'`)
  })

  it('no lists anywhere: every event is exported', async () => {
    const {result, config} = await check({configMaps: []})
    expect(config).toEqual({allow: '', deny: '', source: 'agent default'})
    expect(result.status).toBe('pass')
    expect(result.message).toBe('the export keeps PROCESS_EXEC, PROCESS_EXIT, PROCESS_KPROBE events of all 4 namespaces and new ones (filters from the agent default)')
  })
})
