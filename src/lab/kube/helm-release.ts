import {gzipSync} from 'node:zlib'

import type {LabSpec} from '../spec.js'
import type {KObj} from './store.js'

// Helm 3's release storage as the lab renders it for the scenario's Tetragon install, so that a
// `helm list` / `helm get values` (the test-only fake helm, test/fixtures/helm/) reads what the real
// one would: one Secret per revision, `sh.helm.release.v1.<release>.v<revision>`, type
// `helm.sh/release.v1`, labels name/owner/status/version, `data.release` = base64(gzip(JSON of the
// release)) (helm pkg/storage/driver/secrets.go newSecretsObject, util.go encodeRelease), which the
// Secret's own base64 wraps once more.

/** The chart's default `tetragon.grpc.address` per chart version (chart values per tag; the v1.7.0 switch to a unix socket: contrib/upgrade-notes/v1.7.0.md). */
export function chartDefaultServerAddress(chartVersion: string): string {
  const [maj = 0, min = 0, pat = 0] = chartVersion.replace(/^v/, '').split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  const n = maj * 1_000_000 + min * 1000 + pat
  if (n >= 1_007_000) return 'unix:///var/run/tetragon/tetragon.sock'
  // v0.8.0 had no gRPC values: the agent flag default applies.
  return 'localhost:54321'
}

/** The user-supplied values (`helm get values`) an install with this spec was made with. */
export function releaseValues(spec: LabSpec): Record<string, unknown> {
  const t = spec.tetragon
  const tetragon: Record<string, unknown> = {}
  // `tetragon.grpc.enabled: false` renders an empty server-address (templates/tetragon_configmap.yaml).
  if (t.serverAddress === '') tetragon.grpc = {enabled: false}
  else if (t.serverAddress !== chartDefaultServerAddress(t.chartVersion)) tetragon.grpc = {address: t.serverAddress}
  if (t.exportAllowList) tetragon.exportAllowList = t.exportAllowList.map((l) => JSON.stringify(l)).join('\n')
  if (t.exportDenyList) tetragon.exportDenyList = t.exportDenyList.map((l) => JSON.stringify(l)).join('\n')
  const values: Record<string, unknown> = {}
  if (Object.keys(tetragon).length > 0) values.tetragon = tetragon
  if (t.exportMode === '') values.export = {mode: ''}
  return values
}

export interface HelmReleaseRecord {
  name: string
  namespace: string
  version: number
  status: 'deployed' | 'superseded' | 'failed' | 'pending-upgrade' | 'pending-install'
  chartVersion: string
  appVersion: string
  config: Record<string, unknown>
  deployed: string
  description?: string
}

export function releaseSecret(r: HelmReleaseRecord): KObj {
  const release = {
    name: r.name,
    info: {first_deployed: r.deployed, last_deployed: r.deployed, deleted: '', description: r.description ?? 'Install complete', status: r.status},
    chart: {metadata: {name: 'tetragon', version: r.chartVersion, appVersion: r.appVersion, apiVersion: 'v2', description: 'Helm chart for Tetragon'}},
    config: r.config,
    manifest: '',
    version: r.version,
    namespace: r.namespace,
  }
  const encoded = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64')
  return {
    metadata: {
      name: `sh.helm.release.v1.${r.name}.v${r.version}`,
      namespace: r.namespace,
      labels: {name: r.name, owner: 'helm', status: r.status, version: String(r.version)},
    },
    type: 'helm.sh/release.v1',
    data: {release: Buffer.from(encoded).toString('base64')},
  }
}
