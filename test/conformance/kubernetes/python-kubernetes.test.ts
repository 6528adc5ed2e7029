// The official Python Kubernetes client (Debian python3-kubernetes) against the lab: the operations tetractl
// performs (lists with selectors and pages, reads, watch, exec, port-forward, logs, proxies, access reviews,
// server-side apply, patches) through a client the project did not write.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {type Sandbox, clientAvailable, pythonHas, python, startSandbox} from './support.js'

const available = clientAvailable('python-kubernetes', () => pythonHas('kubernetes'))

const PRELUDE = `
import json, os, sys
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream, portforward
config.load_kube_config(config_file=os.environ['KUBECONFIG'])
api = client.ApiClient()
v1 = client.CoreV1Api(api)
apps = client.AppsV1Api(api)
def out(x):
    print(json.dumps(x, default=str))
def raw(method, path, query=None, body=None, headers=None):
    try:
        data, status, hdrs = api.call_api(path, method, query_params=query or [], header_params=headers or {}, body=body,
            auth_settings=['BearerToken'], _preload_content=False, _return_http_data_only=False)
        return {'status': status, 'body': json.loads(data.data or b'null'), 'headers': dict(hdrs)}
    except ApiException as e:
        return {'status': e.status, 'body': json.loads(e.body or 'null'), 'headers': dict(e.headers or {})}
AGENT = v1.list_namespaced_pod('kube-system', label_selector='app.kubernetes.io/name=tetragon').items[0].metadata.name
`

describe.skipIf(!available)('python-kubernetes', () => {
  let sb: Sandbox
  beforeAll(async () => {
    sb = await startSandbox()
  })
  afterAll(() => sb?.stop())
  const py = (body: string) => python(sb, PRELUDE + body)

  it('list pods with equality and set-based label selectors and a field selector', async () => {
    const r = await py(`
a = v1.list_namespaced_pod('kube-system', label_selector='app.kubernetes.io/name=tetragon')
b = v1.list_pod_for_all_namespaces(label_selector='app.kubernetes.io/name in (tetragon),app.kubernetes.io/component!=operator', field_selector='status.phase=Running')
out({'a': len(a.items), 'b': len(b.items), 'ready': [c.ready for p in a.items for c in p.status.container_statuses]})`)
    expect(r).toEqual({a: 3, b: 3, ready: [true, true, true, true, true, true]})
  })

  it('pagination: limit and continue walk the whole list once', async () => {
    const r = await py(`
names, cont, pages = [], None, 0
while True:
    l = v1.list_pod_for_all_namespaces(limit=2, _continue=cont)
    names += [p.metadata.namespace + '/' + p.metadata.name for p in l.items]
    pages += 1
    cont = l.metadata._continue
    if not cont: break
out({'names': names, 'pages': pages, 'all': sorted(p.metadata.namespace + '/' + p.metadata.name for p in v1.list_pod_for_all_namespaces().items)})`)
    expect([...r.names].sort()).toEqual(r.all)
    expect(r.pages).toBe(Math.ceil(r.all.length / 2))
  })

  it('read a DaemonSet and a ConfigMap', async () => {
    const r = await py(`
ds = apps.read_namespaced_daemon_set('tetragon', 'kube-system')
cm = v1.read_namespaced_config_map('tetragon-config', 'kube-system')
out({'ready': ds.status.number_ready, 'desired': ds.status.desired_number_scheduled, 'addr': cm.data['server-address']})`)
    expect(r.ready).toBe(r.desired)
    expect(typeof r.addr).toBe('string')
  })

  it('watch (watch=True) from the current resourceVersion: headers first, then the event', async () => {
    const r = await py(`
rv = v1.list_namespaced_config_map('default').metadata.resource_version
# The request returns once headers arrive; only then is the object created.
resp = v1.list_namespaced_config_map('default', watch=True, resource_version=rv, timeout_seconds=20, _preload_content=False)
v1.create_namespaced_config_map('default', {'metadata': {'name': 'py-watch'}})
line = resp.readline() if hasattr(resp, 'readline') else next(resp.stream())
ev = json.loads(line)
resp.release_conn()
out({'type': ev['type'], 'name': ev['object']['metadata']['name'], 'ct': resp.headers.get('Content-Type')})`)
    expect(r).toEqual({type: 'ADDED', name: 'py-watch', ct: 'application/json'})
  })

  it('exec with stdout=True/stderr=True (query booleans as strconv.ParseBool reads them)', async () => {
    const r = await py(`
o = stream(v1.connect_get_namespaced_pod_exec, AGENT, 'kube-system', container='tetragon', command=['echo', 'hi'], stdout=True, stderr=True, stdin=False, tty=False)
out({'o': o})`)
    expect(r.o).toBe('hi\n')
  })

  it('port-forward to the agent metrics port', async () => {
    const r = await py(`
pf = portforward(v1.connect_get_namespaced_pod_portforward, AGENT, 'kube-system', ports='2112')
s = pf.socket(2112)
s.setblocking(True)
s.sendall(b'GET /metrics HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n')
data = b''
while len(data) < 64:
    chunk = s.recv(4096)
    if not chunk: break
    data += chunk
s.close()
out({'head': data.split(b'\\r\\n')[0].decode()})`)
    // Go's net/http answers HTTP/1.1 whatever the request's version.
    expect(r.head).toBe('HTTP/1.1 200 OK')
  })

  it('logs of a container', async () => {
    const r = await py(`out({'log': v1.read_namespaced_pod_log(AGENT, 'kube-system', container='tetragon', tail_lines=3)})`)
    expect(r.log.trim().split('\n').length).toBeGreaterThan(0)
  })

  it('pod proxy to the metrics port', async () => {
    const r = await py(`out({'m': v1.connect_get_namespaced_pod_proxy_with_path(AGENT + ':2112', 'kube-system', 'metrics')})`)
    expect(r.m).toMatch(/^# (HELP|TYPE) /m)
  })

  it('SelfSubjectAccessReview', async () => {
    const r = await py(`
authz = client.AuthorizationV1Api(api)
rv = authz.create_self_subject_access_review({'spec': {'resourceAttributes': {'verb': 'create', 'resource': 'pods', 'subresource': 'exec', 'namespace': 'kube-system'}}})
out({'allowed': rv.status.allowed})`)
    expect(r.allowed).toBe(true)
  })

  it('Impersonate-User through RBAC: nobody cannot list Secrets', async () => {
    const r = await py(`
a = raw('GET', '/api/v1/namespaces/default/secrets', headers={'Impersonate-User': 'nobody'})
b = raw('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body={'apiVersion': 'authorization.k8s.io/v1', 'kind': 'SelfSubjectAccessReview', 'spec': {'resourceAttributes': {'verb': 'list', 'resource': 'secrets', 'namespace': 'default'}}}, headers={'Impersonate-User': 'nobody'})
out({'status': a['status'], 'message': a['body']['message'], 'allowed': b['body']['status']['allowed']})`)
    expect(r).toEqual({status: 403, message: 'secrets is forbidden: User "nobody" cannot list resource "secrets" in API group "" in the namespace "default"', allowed: false})
  })

  it('server-side apply: FieldsV1 managedFields, Service defaults, dry run', async () => {
    const r = await py(`
body = {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': 'py-svc', 'namespace': 'default', 'labels': {'audit': 'yes'}}, 'spec': {'selector': {'app': 'x'}, 'ports': [{'port': 80}]}}
dry = raw('PATCH', '/api/v1/namespaces/default/services/py-svc', query=[('fieldManager', 'tetractl'), ('dryRun', 'All')], body=json.dumps(body), headers={'Content-Type': 'application/apply-patch+yaml'})
after_dry = raw('GET', '/api/v1/namespaces/default/services/py-svc')
o = raw('PATCH', '/api/v1/namespaces/default/services/py-svc', query=[('fieldManager', 'tetractl')], body=json.dumps(body), headers={'Content-Type': 'application/apply-patch+yaml'})
svc = v1.read_namespaced_service('py-svc', 'default')
out({'dry': dry['status'], 'dryIp': bool(dry['body']['spec'].get('clusterIP')), 'afterDry': after_dry['status'], 'status': o['status'], 'meta': sorted(o['body']['metadata'].keys()), 'mf': o['body']['metadata']['managedFields'], 'spec': {k: o['body']['spec'].get(k) for k in ['type', 'sessionAffinity', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy']}, 'ip': svc.spec.cluster_ip, 'ips': svc.spec.cluster_i_ps, 'port': o['body']['spec']['ports'][0]})`)
    expect(r.dry).toBe(201)
    expect(r.dryIp).toBe(true)
    expect(r.afterDry).toBe(404)
    expect(r.status).toBe(201)
    expect(r.meta).toEqual(['creationTimestamp', 'labels', 'managedFields', 'name', 'namespace', 'resourceVersion', 'uid'])
    expect(r.mf).toHaveLength(1)
    expect(r.mf[0]).toMatchObject({manager: 'tetractl', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1'})
    expect(r.mf[0].fieldsV1['f:metadata']).toEqual({'f:labels': {'f:audit': {}}})
    expect(r.spec).toEqual({type: 'ClusterIP', sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster'})
    expect(r.ip).toMatch(/^10\.\d+\.\d+\.\d+$/)
    expect(r.ips).toEqual([r.ip])
    expect(r.port).toEqual({port: 80, protocol: 'TCP', targetPort: 80})
  })

  it('create Service through the typed API gets the API server defaults', async () => {
    const r = await py(`
s = v1.create_namespaced_service('default', client.V1Service(metadata=client.V1ObjectMeta(name='py-typed'), spec=client.V1ServiceSpec(selector={'a': 'b'}, ports=[client.V1ServicePort(port=53, protocol='UDP', name='dns')])))
out({'type': s.spec.type, 'ip': s.spec.cluster_ip, 'fam': s.spec.ip_families, 'aff': s.spec.session_affinity, 'tp': s.spec.ports[0].target_port, 'proto': s.spec.ports[0].protocol})`)
    expect(r).toMatchObject({type: 'ClusterIP', fam: ['IPv4'], aff: 'None', tp: 53, proto: 'UDP'})
    expect(r.ip).toMatch(/^10\./)
  })

  it('fieldValidation: Strict refuses unknown fields, Warn warns, Ignore drops them', async () => {
    const r = await py(`
body = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'py-fv', 'bogus': 1}, 'data': {'a': 'b'}, 'extra': True}
s = raw('POST', '/api/v1/namespaces/default/configmaps', query=[('fieldValidation', 'Strict'), ('dryRun', 'All')], body=body)
w = raw('POST', '/api/v1/namespaces/default/configmaps', query=[('fieldValidation', 'Warn'), ('dryRun', 'All')], body=body)
i = raw('POST', '/api/v1/namespaces/default/configmaps', query=[('fieldValidation', 'Ignore'), ('dryRun', 'All')], body=body)
bad = raw('POST', '/api/v1/namespaces/default/configmaps', query=[('fieldValidation', 'Loose')], body=body)
out({'s': [s['status'], s['body'].get('reason'), s['body'].get('message')], 'w': [w['status'], w['headers'].get('Warning')], 'wBody': 'extra' in w['body'], 'i': [i['status'], i['headers'].get('Warning')], 'bad': [bad['status'], bad['body'].get('message')]})`)
    expect(r.s).toEqual([400, 'BadRequest', 'strict decoding error: unknown field "metadata.bogus", unknown field "extra"'])
    expect(r.w[0]).toBe(201)
    expect(r.w[1]).toBe('299 - "unknown field \\"metadata.bogus\\"", 299 - "unknown field \\"extra\\""')
    expect(r.wBody).toBe(false)
    expect(r.i).toEqual([201, null])
    expect(r.bad[0]).toBe(400)
    expect(r.bad[1]).toContain('fieldValidation')
  })

  it('server-side apply of an undeclared field fails the typed conversion (500, no reason)', async () => {
    const r = await py(`
body = {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'py-ssa-bad', 'namespace': 'default'}, 'data': {'a': 'b'}, 'bogus': 1}
o = raw('PATCH', '/api/v1/namespaces/default/configmaps/py-ssa-bad', query=[('fieldManager', 'tetractl')], body=json.dumps(body), headers={'Content-Type': 'application/apply-patch+yaml'})
out({'status': o['status'], 'body': o['body']})`)
    expect(r).toEqual({status: 500, body: {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'failed to create typed patch object (default/py-ssa-bad; /v1, Kind=ConfigMap): .bogus: field not declared in schema', code: 500}})
  })

  it('merge, strategic merge and JSON patch', async () => {
    const r = await py(`
v1.create_namespaced_config_map('default', {'metadata': {'name': 'py-patch'}, 'data': {'a': '1'}})
v1.patch_namespaced_config_map('py-patch', 'default', {'data': {'b': '2'}})
v1.patch_namespaced_config_map('py-patch', 'default', [{'op': 'remove', 'path': '/data/a'}])
m = raw('PATCH', '/api/v1/namespaces/default/configmaps/py-patch', body={'data': {'c': '3'}}, headers={'Content-Type': 'application/merge-patch+json'})
out({'data': v1.read_namespaced_config_map('py-patch', 'default').data, 'm': m['status']})`)
    expect(r).toEqual({data: {b: '2', c: '3'}, m: 200})
  })

  it('Table output for Accept: application/json;as=Table;v=v1;g=meta.k8s.io', async () => {
    const r = await py(`
t = raw('GET', '/api/v1/namespaces/kube-system/pods', query=[('labelSelector', 'app.kubernetes.io/name=tetragon')], headers={'Accept': 'application/json;as=Table;v=v1;g=meta.k8s.io'})
out({'kind': t['body']['kind'], 'apiVersion': t['body']['apiVersion'], 'cols': [c['name'] for c in t['body']['columnDefinitions']], 'cells': t['body']['rows'][0]['cells'][1:4], 'obj': t['body']['rows'][0]['object']['kind']})`)
    expect(r).toEqual({kind: 'Table', apiVersion: 'meta.k8s.io/v1', cols: ['Name', 'Ready', 'Status', 'Restarts', 'Age', 'IP', 'Node', 'Nominated Node', 'Readiness Gates'], cells: ['2/2', 'Running', '0'], obj: 'PartialObjectMetadata'})
  })

  it('OpenAPI v2 and v3 documents describe the served kinds', async () => {
    const r = await py(`
v2 = raw('GET', '/openapi/v2', headers={'Accept': 'application/json'})
v3 = raw('GET', '/openapi/v3')
core = raw('GET', v3['body']['paths']['api/v1']['serverRelativeURL'])
out({'swagger': v2['body']['swagger'], 'pod': 'io.k8s.api.core.v1.Pod' in v2['body']['definitions'], 'v3': sorted(v3['body']['paths'].keys())[:3], 'openapi': core['body']['openapi'], 'svc': 'io.k8s.api.core.v1.Service' in core['body']['components']['schemas']})`)
    expect(r.swagger).toBe('2.0')
    expect(r.pod).toBe(true)
    expect(r.openapi).toMatch(/^3\./)
    expect(r.svc).toBe(true)
  })
})
