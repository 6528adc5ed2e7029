import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {createKibanaHandle, KibanaRequestError, KibanaUnreachableError, kibanaOptionsFromEnv, type KibanaHandle} from '../../src/clients/kibana.js'
import {startElasticLab, type ElasticLab} from '../../src/lab/elastic/index.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-kbn-'))

describe('Kibana lab', () => {
  let lab: ElasticLab
  let kb: KibanaHandle
  beforeAll(async () => {
    lab = await startElasticLab({scenario: 'kibana-package-missing'})
    kb = createKibanaHandle(kibanaOptionsFromEnv(lab.env(dir))!)
  })
  afterAll(() => lab?.stop())

  it('GET /api/status reports version and overall level', async () => {
    const r = await kb.request<any>({method: 'GET', path: '/api/status'})
    expect(r.body.version.number).toBe('8.19.2')
    expect(r.body.status.overall.level).toBe('available')
  })

  it('reports the package not installed, then installs it (kbn-xsrf required) and its ES assets appear', async () => {
    const before = await kb.request<any>({method: 'GET', path: '/api/fleet/epm/packages/cilium_tetragon', query: {prerelease: true}})
    expect(before.body.item.status).toBe('not_installed')
    expect(before.body.item.installationInfo).toBeUndefined()
    expect(lab.store.templates.has('logs-cilium_tetragon.log')).toBe(false)

    // Without kbn-xsrf Kibana refuses the write (raw request, the client always sends it).
    const {request} = await import('node:https')
    const status = await new Promise<{code: number; body: string}>((resolve) => {
      const u = new URL('/api/fleet/epm/packages/cilium_tetragon', lab.kibanaUrl)
      const req = request(u, {method: 'POST', ca: lab.caPem, headers: {authorization: `Basic ${Buffer.from(`${lab.admin.username}:${lab.admin.password}`).toString('base64')}`}}, (res) => {
        let b = ''
        res.on('data', (c) => (b += c))
        res.on('end', () => resolve({code: res.statusCode ?? 0, body: b}))
      })
      req.end()
    })
    expect(status.code).toBe(400)
    expect(JSON.parse(status.body).message).toBe('Request must contain a kbn-xsrf header.')

    const reader = await kb.request({method: 'POST', path: '/api/fleet/epm/packages/cilium_tetragon'}).catch((e) => e)
    expect(reader).toBeInstanceOf(KibanaRequestError)
    expect((reader as KibanaRequestError).statusCode).toBe(403)

    const admin = createKibanaHandle({url: lab.kibanaUrl, username: lab.admin.username, password: lab.admin.password, caFile: lab.caFile(dir)})
    const inst = await admin.request<any>({method: 'POST', path: '/api/fleet/epm/packages/cilium_tetragon'})
    expect(inst.body.items).toContainEqual({id: 'logs-cilium_tetragon.log-0.2.1', type: 'ingest_pipeline'})
    const after = await kb.request<any>({method: 'GET', path: '/api/fleet/epm/packages/cilium_tetragon'})
    expect(after.body.item.status).toBe('installed')
    expect(after.body.item.installationInfo.installed_kibana).toEqual([])
    expect(lab.store.templates.has('logs-cilium_tetragon.log')).toBe(true)
    expect(lab.store.pipelines.has('logs-cilium_tetragon.log-0.2.1')).toBe(true)

    const pp = await admin.request<any>({method: 'POST', path: '/api/fleet/package_policies', body: {name: 'tetragon-1', policy_id: 'p1', package: {name: 'cilium_tetragon', version: '0.2.1'}}})
    expect(pp.body.item.inputs[0].streams).toEqual([])
    const list = await kb.request<any>({method: 'GET', path: '/api/fleet/package_policies'})
    expect(list.body.total).toBe(1)
  })

  it('serves agent policies, agent status and saved-object search', async () => {
    expect((await kb.request<any>({method: 'GET', path: '/api/fleet/agent_policies'})).body.items).toEqual([])
    expect((await kb.request<any>({method: 'GET', path: '/api/fleet/agent_status'})).body.results.online).toBe(0)
    const d = await kb.request<any>({method: 'GET', path: '/api/saved_objects/_find', query: {type: 'dashboard', search: 'tetragon*'}})
    expect(d.body.total).toBe(0)
  })

  it('401 with wrong credentials, without echoing them', async () => {
    const bad = createKibanaHandle({url: lab.kibanaUrl, username: 'tetractl', password: 'definitely-wrong-secret', caFile: lab.caFile(dir)})
    const e = await bad.request({method: 'GET', path: '/api/status'}).catch((x) => x)
    expect(e).toBeInstanceOf(KibanaUnreachableError)
    expect(String(e.message) + String(e.tryMessage)).not.toContain('definitely-wrong-secret')
    expect(JSON.stringify(lab.kibanaRequests())).not.toContain('definitely-wrong-secret')
  })
})
