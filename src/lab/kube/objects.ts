import {createHash} from 'node:crypto'

import type {LabSpec} from '../spec.js'
import {releaseSecret, releaseValues} from './helm-release.js'
import {APISERVER_IP, CLUSTER_DNS_IP, KUBERNETES_SERVICE_IP, allocateClusterIp, nodeIp, podCidr, podIp} from './ip.js'
import {type KObj, type Store, deterministicUid, k8sTime} from './store.js'

// Renders the initial cluster state of a LabSpec the way the real Helm chart and controllers would
// (cilium/tetragon install/kubernetes/tetragon, elastic/elastic-agent deploy/kubernetes).

/** k8s.io/apimachinery util/rand alphabet: no vowels, so generated names never spell words. */
const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789'

export class NameGen {
  private counter = 0
  private readonly used = new Set<string>()
  constructor(private readonly seed: string) {}

  suffix(len = 5): string {
    for (;;) {
      const h = createHash('sha256').update(`${this.seed}/${this.counter++}`).digest()
      let s = ''
      for (let i = 0; i < len; i++) s += ALPHANUMS[h[i]! % ALPHANUMS.length]
      if (!this.used.has(s)) {
        this.used.add(s)
        return s
      }
    }
  }

  hex(len: number): string {
    let out = ''
    while (out.length < len) out += createHash('sha256').update(`${this.seed}/hex/${this.counter++}`).digest('hex')
    return out.slice(0, len)
  }
}

export function semverAtLeast(version: string, min: string): boolean {
  const a = version.replace(/^v/, '').split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0)
  const b = min.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== b[i]) return (a[i] ?? 0) > b[i]!
  }
  return true
}

/** Labels of the chart's `tetragon.labels` named template: part-of and component only since chart 1.3.0. */
export function tetragonLabels(chartVersion: string, release = 'tetragon'): Record<string, string> {
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': 'tetragon',
    'app.kubernetes.io/instance': release,
    'helm.sh/chart': `tetragon-${chartVersion}`,
    'app.kubernetes.io/version': chartVersion,
    'app.kubernetes.io/managed-by': 'Helm',
  }
  if (semverAtLeast(chartVersion, '1.3.0')) {
    labels['app.kubernetes.io/part-of'] = 'tetragon'
    labels['app.kubernetes.io/component'] = 'agent'
  }
  return labels
}

function operatorLabels(chartVersion: string, release = 'tetragon'): Record<string, string> {
  // Operator pods: name tetragon-operator, component operator; they share
  // part-of/instance/managed-by with the agent, so select agents by name=tetragon.
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': 'tetragon-operator',
    'app.kubernetes.io/instance': release,
    'helm.sh/chart': `tetragon-${chartVersion}`,
    'app.kubernetes.io/version': chartVersion,
    'app.kubernetes.io/managed-by': 'Helm',
  }
  if (semverAtLeast(chartVersion, '1.3.0')) {
    labels['app.kubernetes.io/part-of'] = 'tetragon'
    labels['app.kubernetes.io/component'] = 'operator'
  }
  return labels
}

/** Data of ConfigMap `tetragon-config` as chart v1.7.0 renders its defaults (cilium/tetragon v1.7.0 install/kubernetes/tetragon/templates/tetragon_configmap.yaml). */
export function tetragonConfigData(spec: LabSpec): Record<string, string> {
  const t = spec.tetragon
  const data: Record<string, string> = {
    'cluster-name': '',
    procfs: '/procRoot',
    debug: 'false',
    'enable-process-cred': 'false',
    'enable-process-ns': 'false',
    'enable-ancestors': '',
    'process-cache-size': '65536',
    'export-filename': '/var/run/cilium/tetragon/tetragon.log',
    'export-file-perm': '600',
    'export-file-max-size-mb': '10',
    'export-file-max-backups': '5',
    'export-file-compress': 'false',
    'export-allowlist': '{"event_set":["PROCESS_EXEC", "PROCESS_EXIT", "PROCESS_KPROBE", "PROCESS_UPROBE", "PROCESS_TRACEPOINT", "PROCESS_LSM"]}',
    'export-denylist': '{"health_check":true}\n{"namespace":["", "cilium", "kube-system"]}',
    'field-filters': '',
    'redaction-filters': '',
    'export-rate-limit': '-1',
    'enable-k8s-api': 'true',
    'metrics-server': ':2112',
    'metrics-label-filter': 'namespace,workload,pod,binary',
    'server-address': t.serverAddress,
    'health-server-address': ':6789',
    'health-server-interval': '10',
    'gops-address': 'localhost:8118',
    'enable-policy-filter': 'true',
    'enable-pod-info': 'false',
    'enable-tracing-policy-crd': 'true',
    'event-cache-retries': '15',
    'event-cache-retry-delay': '2',
    'process-cache-gc-interval': '30s',
    'enable-cri': 'false',
    'enable-cgidmap': 'false',
    'enable-pod-annotations': 'false',
  }
  // `use-perf-ring-buffer` is rendered since chart v1.6.0.
  if (semverAtLeast(t.chartVersion, '1.6.0')) data['use-perf-ring-buffer'] = 'false'
  // Helm tetragon.exportAllowList / exportDenyList land here, one JSON filter per line; the agent reads them from the ConfigMap.
  if (t.exportAllowList) data['export-allowlist'] = t.exportAllowList.map((f) => JSON.stringify(f)).join('\n')
  if (t.exportDenyList) data['export-denylist'] = t.exportDenyList.map((f) => JSON.stringify(f)).join('\n')
  return data
}

/** Tolerations the DaemonSet controller adds to every daemon pod (Kubernetes docs, DaemonSet "Taints and tolerations"). */
function daemonTolerations(hostNetwork: boolean): Array<Record<string, string>> {
  const t = [
    {key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute'},
    {key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute'},
    {key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule'},
    {key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule'},
    {key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule'},
    {key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule'},
  ]
  if (hostNetwork) t.push({key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule'})
  return t
}

interface RenderCtx {
  spec: LabSpec
  store: Store
  names: NameGen
  takenIps: Set<string>
  clusterBorn: string
  installed: string
}

interface ContainerRender {
  name: string
  image: string
  ready: boolean
  restartCount: number
  crashLoop?: boolean
}

function containerStatuses(ctx: RenderCtx, cs: ContainerRender[], pod: {name: string; namespace: string; uid: string}): Array<Record<string, unknown>> {
  return cs.map((c) => {
    const imageRepo = c.image.replace(/:[^:/]+$/, '')
    const st: Record<string, unknown> = {
      name: c.name,
      image: c.image,
      imageID: `${imageRepo}@sha256:${createHash('sha256').update(c.image).digest('hex')}`,
      containerID: `containerd://${ctx.names.hex(64)}`,
      ready: c.ready,
      restartCount: c.restartCount,
      started: !c.crashLoop,
      state: c.crashLoop
        ? {waiting: {reason: 'CrashLoopBackOff', message: `back-off 5m0s restarting failed container=${c.name} pod=${pod.name}_${pod.namespace}(${pod.uid})`}}
        : {running: {startedAt: ctx.installed}},
      lastState: c.restartCount > 0 ? {terminated: {exitCode: 1, reason: 'Error', startedAt: ctx.installed, finishedAt: ctx.installed, containerID: `containerd://${ctx.names.hex(64)}`}} : {},
    }
    return st
  })
}

function podConditions(ready: boolean, notReady: string[], time: string): Array<Record<string, unknown>> {
  const c = (type: string, status: boolean, extra: Record<string, string> = {}) => ({type, status: status ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: time, ...extra})
  const unready: Record<string, string> = ready ? {} : {reason: 'ContainersNotReady', message: `containers with unready status: [${notReady.join(' ')}]`}
  return [
    c('PodReadyToStartContainers', true),
    c('Initialized', true),
    c('Ready', ready, unready),
    c('ContainersReady', ready, unready),
    c('PodScheduled', true),
  ]
}

interface PodInput {
  name: string
  namespace: string
  labels: Record<string, string>
  owner: KObj
  nodeName: string
  nodeIndex: number
  hostNetwork: boolean
  podIP?: string
  spec: Record<string, unknown>
  containers: ContainerRender[]
  qosClass?: string
}

function makePod(ctx: RenderCtx, p: PodInput): KObj {
  const hostIP = nodeIp(p.nodeIndex)
  const ip = p.hostNetwork ? hostIP : p.podIP!
  const ready = p.containers.every((c) => c.ready)
  const uid = deterministicUid(`${ctx.spec.name}/pod/${p.namespace}/${p.name}`)
  const statuses = containerStatuses(ctx, p.containers, {name: p.name, namespace: p.namespace, uid})
  return {
    metadata: {
      name: p.name,
      uid,
      namespace: p.namespace,
      generateName: p.name.replace(/[^-]+$/, ''),
      labels: p.labels,
      ownerReferences: [{apiVersion: p.owner.apiVersion!, kind: p.owner.kind!, name: p.owner.metadata.name, uid: p.owner.metadata.uid!, controller: true, blockOwnerDeletion: true}],
    },
    spec: {...p.spec, nodeName: p.nodeName, hostNetwork: p.hostNetwork || undefined},
    status: {
      phase: 'Running',
      conditions: podConditions(ready, p.containers.filter((c) => !c.ready).map((c) => c.name), ctx.installed),
      hostIP,
      hostIPs: [{ip: hostIP}],
      podIP: ip,
      podIPs: [{ip}],
      startTime: ctx.installed,
      containerStatuses: statuses,
      qosClass: p.qosClass ?? 'BestEffort',
    },
  }
}

function ownerRef(o: KObj) {
  return {apiVersion: o.apiVersion!, kind: o.kind!, name: o.metadata.name, uid: o.metadata.uid!, controller: true, blockOwnerDeletion: true}
}

function service(ctx: RenderCtx, ns: string, name: string, labels: Record<string, string>, selector: Record<string, string> | undefined, ports: Array<Record<string, unknown>>, clusterIP?: string): KObj {
  const ip = clusterIP ?? allocateClusterIp(`${ns}/${name}`, ctx.takenIps)
  ctx.takenIps.add(ip)
  return {
    metadata: {name, namespace: ns, labels},
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      clusterIPs: [ip],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
      ports,
      ...(selector ? {selector} : {}),
    },
    status: {loadBalancer: {}},
  }
}

/** Creates the whole initial state of the cluster in `store`. */
export function renderCluster(spec: LabSpec, store: Store, now = new Date()): void {
  const ctx: RenderCtx = {
    spec,
    store,
    names: new NameGen(`${spec.name}/${spec.nodes}`),
    takenIps: new Set([KUBERNETES_SERVICE_IP, CLUSTER_DNS_IP]),
    clusterBorn: k8sTime(new Date(now.getTime() - 30 * 86_400_000)),
    installed: k8sTime(new Date(now.getTime() - 2 * 3_600_000)),
  }
  const born = {creationTimestamp: ctx.clusterBorn}
  const inst = {creationTimestamp: ctx.installed}
  const t = spec.tetragon
  const nodeCount = spec.nodes
  const schedulable = spec.schedulableNodes ?? nodeCount

  // Namespaces: the defaults plus `monitoring` (a collector address naming it resolves the
  // namespace, not the Service) and the Tetragon/grpc Service namespaces.
  const nsNames = new Set(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'monitoring', t.namespace])
  if (spec.grpcService) nsNames.add(spec.grpcService.namespace)
  for (const ns of nsNames) {
    store.create('namespaces', {metadata: {name: ns, labels: {'kubernetes.io/metadata.name': ns}}, spec: {finalizers: ['kubernetes']}, status: {phase: 'Active'}}, born)
  }

  // Nodes: all Ready; those past `schedulableNodes` cordoned (spec.unschedulable + the taint
  // `kubectl cordon` adds through the node lifecycle controller).
  for (let i = 1; i <= nodeCount; i++) {
    const name = `node-${i}`
    const cordoned = i > schedulable
    store.create('nodes', {
      metadata: {
        name,
        labels: {
          'beta.kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
        },
        annotations: {'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true'},
      },
      spec: {
        podCIDR: podCidr(i),
        podCIDRs: [podCidr(i)],
        ...(cordoned ? {unschedulable: true, taints: [{key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule', timeAdded: ctx.installed}]} : {}),
      },
      status: {
        capacity: {cpu: '4', 'ephemeral-storage': '102626232Ki', memory: '16393372Ki', pods: '110'},
        allocatable: {cpu: '4', 'ephemeral-storage': '94580335255', memory: '16290972Ki', pods: '110'},
        conditions: [
          {type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available', lastHeartbeatTime: ctx.installed, lastTransitionTime: ctx.clusterBorn},
          {type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: ctx.installed, lastTransitionTime: ctx.clusterBorn},
          {type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: ctx.installed, lastTransitionTime: ctx.clusterBorn},
          {type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: ctx.installed, lastTransitionTime: ctx.clusterBorn},
        ],
        addresses: [{type: 'InternalIP', address: nodeIp(i)}, {type: 'Hostname', address: name}],
        daemonEndpoints: {kubeletEndpoint: {Port: 10250}},
        nodeInfo: {
          machineID: createHash('md5').update(`machine/${name}`).digest('hex'),
          systemUUID: createHash('md5').update(`uuid/${name}`).digest('hex'),
          bootID: createHash('md5').update(`boot/${name}`).digest('hex'),
          kernelVersion: '6.1.0-28-cloud-amd64',
          osImage: 'Debian GNU/Linux 12 (bookworm)',
          containerRuntimeVersion: 'containerd://1.7.24',
          kubeletVersion: spec.kubernetesVersion,
          kubeProxyVersion: spec.kubernetesVersion,
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    }, born)
  }

  // --- kube-system: kubernetes Service, CoreDNS ---
  store.create('services', service(ctx, 'default', 'kubernetes', {component: 'apiserver', provider: 'kubernetes'}, undefined, [{name: 'https', port: 443, protocol: 'TCP', targetPort: 6443}], KUBERNETES_SERVICE_IP), born)
  // The apiserver maintains the `kubernetes` Service's Endpoints/EndpointSlice itself (no selector).
  store.create('endpoints', {metadata: {name: 'kubernetes', namespace: 'default', labels: {'endpointslice.kubernetes.io/skip-mirror': 'true'}}, subsets: [{addresses: [{ip: APISERVER_IP}], ports: [{name: 'https', port: 6443, protocol: 'TCP'}]}]}, born)
  store.create('endpointslices', {metadata: {name: 'kubernetes', namespace: 'default', labels: {'kubernetes.io/service-name': 'kubernetes'}}, addressType: 'IPv4', endpoints: [{addresses: [APISERVER_IP], conditions: {ready: true}}], ports: [{name: 'https', port: 6443, protocol: 'TCP'}]}, born)

  const corednsReady = spec.corednsReady ?? 2
  const corednsReplicas = Math.max(2, corednsReady)
  const dnsLabels = {'k8s-app': 'kube-dns'}
  const coredns = store.create('deployments', {
    metadata: {name: 'coredns', namespace: 'kube-system', labels: dnsLabels, generation: 1, annotations: {'deployment.kubernetes.io/revision': '1'}},
    spec: {
      replicas: corednsReplicas,
      selector: {matchLabels: dnsLabels},
      strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1, maxSurge: '25%'}},
      template: {metadata: {labels: dnsLabels}, spec: {containers: [{name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3'}], dnsPolicy: 'Default', priorityClassName: 'system-cluster-critical', serviceAccountName: 'coredns'}},
    },
  }, born)
  const rsHash = ctx.names.suffix(10)
  const corednsRs = store.create('replicasets', {
    metadata: {name: `coredns-${rsHash}`, namespace: 'kube-system', labels: {...dnsLabels, 'pod-template-hash': rsHash}, ownerReferences: [ownerRef(coredns)], annotations: {'deployment.kubernetes.io/desired-replicas': String(corednsReplicas), 'deployment.kubernetes.io/revision': '1'}},
    spec: {replicas: corednsReplicas, selector: {matchLabels: {...dnsLabels, 'pod-template-hash': rsHash}}, template: coredns.spec.template},
    status: {replicas: corednsReplicas, readyReplicas: corednsReady, availableReplicas: corednsReady, fullyLabeledReplicas: corednsReplicas, observedGeneration: 1},
  }, born)
  for (let r = 0; r < corednsReplicas; r++) {
    const nodeIndex = (r % nodeCount) + 1
    store.create('pods', makePod(ctx, {
      name: `coredns-${rsHash}-${ctx.names.suffix()}`,
      namespace: 'kube-system',
      labels: {...dnsLabels, 'pod-template-hash': rsHash},
      owner: corednsRs,
      nodeName: `node-${nodeIndex}`,
      nodeIndex,
      hostNetwork: false,
      podIP: podIp(nodeIndex, 1 + r),
      qosClass: 'Burstable',
      spec: {
        containers: [{name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3', args: ['-conf', '/etc/coredns/Corefile'],
          ports: [{name: 'dns', containerPort: 53, protocol: 'UDP'}, {name: 'dns-tcp', containerPort: 53, protocol: 'TCP'}, {name: 'metrics', containerPort: 9153, protocol: 'TCP'}],
          readinessProbe: {httpGet: {path: '/ready', port: 8181, scheme: 'HTTP'}}}],
        dnsPolicy: 'Default',
        serviceAccountName: 'coredns',
        priorityClassName: 'system-cluster-critical',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
      },
      // CoreDNS has a readiness probe: an unready replica is Running with ready=false.
      containers: [{name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.11.3', ready: r < corednsReady, restartCount: 0}],
    }), inst)
  }
  store.create('services', service(ctx, 'kube-system', 'kube-dns', {'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS'}, dnsLabels, [
    {name: 'dns', port: 53, protocol: 'UDP', targetPort: 53},
    {name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53},
    {name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153},
  ], CLUSTER_DNS_IP), born)

  // --- Tetragon Helm release (cilium/tetragon install/kubernetes/tetragon) ---
  const labels = tetragonLabels(t.chartVersion)
  const helmAnn = {'meta.helm.sh/release-name': 'tetragon', 'meta.helm.sh/release-namespace': t.namespace}
  const withExport = (t.exportMode ?? 'stdout') === 'stdout'
  const exportImage = 'quay.io/cilium/hubble-export-stdout:v1.1.1'
  const agentImage = `quay.io/cilium/tetragon:${t.version}`
  const configData = tetragonConfigData(spec)
  store.create('configmaps', {metadata: {name: 'tetragon-config', namespace: t.namespace, labels, annotations: helmAnn}, data: configData}, inst)
  // Helm's record of the install (helm-release.ts), read by `helm list` / `helm get values`.
  store.create('secrets', releaseSecret({name: 'tetragon', namespace: t.namespace, version: 1, status: 'deployed', chartVersion: t.chartVersion, appVersion: t.chartVersion, config: releaseValues(spec), deployed: ctx.installed}), inst)

  const volumeMounts = [
    {name: 'tetragon-config', mountPath: '/etc/tetragon/tetragon.conf.d/', readOnly: true},
    {name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional'},
    {name: 'cilium-run', mountPath: '/var/run/cilium'},
    ...(semverAtLeast(t.chartVersion, '1.7.0') ? [{name: 'tetragon-run', mountPath: '/var/run/tetragon'}] : []),
    {name: 'export-logs', mountPath: '/var/run/cilium/tetragon'},
    {name: 'host-proc', mountPath: '/procRoot'},
  ]
  const volumes = [
    {name: 'cilium-run', hostPath: {path: '/var/run/cilium', type: 'DirectoryOrCreate'}},
    ...(semverAtLeast(t.chartVersion, '1.7.0') ? [{name: 'tetragon-run', hostPath: {path: '/var/run/tetragon', type: 'DirectoryOrCreate'}}] : []),
    {name: 'export-logs', hostPath: {path: '/var/run/cilium/tetragon', type: 'DirectoryOrCreate'}},
    {name: 'tetragon-config', configMap: {name: 'tetragon-config', defaultMode: 420}},
    {name: 'bpf-maps', hostPath: {path: '/sys/fs/bpf', type: 'DirectoryOrCreate'}},
    {name: 'host-proc', hostPath: {path: '/proc', type: 'Directory'}},
  ]
  const containers: Array<Record<string, unknown>> = []
  if (withExport) {
    containers.push({name: 'export-stdout', image: exportImage, imagePullPolicy: 'IfNotPresent', command: ['hubble-export-stdout'], args: ['/var/run/cilium/tetragon/tetragon.log'],
      volumeMounts: [{name: 'export-logs', mountPath: '/var/run/cilium/tetragon'}], terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', resources: {}})
  }
  containers.push({
    name: 'tetragon',
    image: agentImage,
    imagePullPolicy: 'IfNotPresent',
    args: ['--config-dir=/etc/tetragon/tetragon.conf.d/'],
    securityContext: {privileged: true},
    env: [{name: 'NODE_NAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'spec.nodeName'}}}],
    // metrics port; with hostNetwork the API server defaults hostPort to containerPort.
    ports: [{name: 'metrics', containerPort: 2112, hostPort: 2112, protocol: 'TCP'}],
    livenessProbe: {grpc: {port: 6789, service: 'liveness'}, timeoutSeconds: 60, periodSeconds: 10, successThreshold: 1, failureThreshold: 3},
    volumeMounts,
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    resources: {},
  })
  const checksum = createHash('sha256').update(JSON.stringify(configData)).digest('hex')
  const tetragonPodSpec = {
    serviceAccountName: 'tetragon',
    serviceAccount: 'tetragon',
    hostNetwork: true,
    dnsPolicy: 'Default',
    terminationGracePeriodSeconds: 1,
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    tolerations: [{operator: 'Exists'}],
    containers,
    volumes,
  }
  const dsHash = ctx.names.suffix(10)
  const ds = store.create('daemonsets', {
    metadata: {name: 'tetragon', namespace: t.namespace, labels, annotations: {'deprecated.daemonset.template.generation': '1', ...helmAnn}, generation: 1},
    spec: {
      selector: {matchLabels: {'app.kubernetes.io/name': 'tetragon', 'app.kubernetes.io/instance': 'tetragon'}},
      template: {metadata: {labels, annotations: {'checksum/configmap': checksum}}, spec: tetragonPodSpec},
      updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1, maxSurge: 0}},
      revisionHistoryLimit: 10,
    },
  }, inst)
  const readyPods = t.readyPods ?? nodeCount
  for (let i = 1; i <= nodeCount; i++) {
    const ready = i <= readyPods
    const cs: ContainerRender[] = []
    if (withExport) cs.push({name: 'export-stdout', image: exportImage, ready: true, restartCount: t.exportRestarts ?? 0})
    // An agent that is not Ready is crash-looping: the container has no readiness probe, so a
    // running tetragon container would be ready.
    cs.push(ready ? {name: 'tetragon', image: agentImage, ready: true, restartCount: 0} : {name: 'tetragon', image: agentImage, ready: false, restartCount: 5, crashLoop: true})
    store.create('pods', makePod(ctx, {
      name: `tetragon-${ctx.names.suffix()}`,
      namespace: t.namespace,
      labels: {...labels, 'controller-revision-hash': dsHash, 'pod-template-generation': '1'},
      owner: ds,
      nodeName: `node-${i}`,
      nodeIndex: i,
      hostNetwork: true,
      spec: {...tetragonPodSpec, tolerations: [{operator: 'Exists'}, ...daemonTolerations(true)]},
      containers: cs,
    }), inst)
  }
  store.create('services', service(ctx, t.namespace, 'tetragon', labels, labels, [{name: 'metrics', port: 2112, protocol: 'TCP', targetPort: 2112}]), inst)

  // Operator Deployment: its pods must not match app.kubernetes.io/name=tetragon (the agent selector).
  const opLabels = operatorLabels(t.chartVersion)
  const opSelector = {'app.kubernetes.io/name': 'tetragon-operator', 'app.kubernetes.io/instance': 'tetragon'}
  const opImage = `quay.io/cilium/tetragon-operator:${t.version}`
  const opPodSpec = {
    serviceAccountName: 'tetragon-operator-service-account',
    containers: [{name: 'tetragon-operator', image: opImage, args: ['--config-dir=/etc/tetragon/operator.conf.d/', '--metrics-bind-address=:2113'],
      ports: [{name: 'metrics', containerPort: 2113, protocol: 'TCP'}],
      livenessProbe: {httpGet: {path: '/healthz', port: 8081}}, readinessProbe: {httpGet: {path: '/readyz', port: 8081}}}],
    dnsPolicy: 'ClusterFirst',
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
  }
  const op = store.create('deployments', {
    metadata: {name: 'tetragon-operator', namespace: t.namespace, labels: opLabels, annotations: {'deployment.kubernetes.io/revision': '1', ...helmAnn}, generation: 1},
    spec: {replicas: 1, selector: {matchLabels: opSelector}, strategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: '25%', maxSurge: '25%'}}, template: {metadata: {labels: opLabels}, spec: opPodSpec}},
  }, inst)
  const opHash = ctx.names.suffix(10)
  const opRs = store.create('replicasets', {
    metadata: {name: `tetragon-operator-${opHash}`, namespace: t.namespace, labels: {...opLabels, 'pod-template-hash': opHash}, ownerReferences: [ownerRef(op)]},
    spec: {replicas: 1, selector: {matchLabels: {...opSelector, 'pod-template-hash': opHash}}, template: op.spec.template},
    status: {replicas: 1, readyReplicas: 1, availableReplicas: 1, fullyLabeledReplicas: 1, observedGeneration: 1},
  }, inst)
  store.create('pods', makePod(ctx, {
    name: `tetragon-operator-${opHash}-${ctx.names.suffix()}`,
    namespace: t.namespace,
    labels: {...opLabels, 'pod-template-hash': opHash},
    owner: opRs,
    nodeName: 'node-1',
    nodeIndex: 1,
    hostNetwork: false,
    podIP: podIp(1, 10),
    spec: opPodSpec,
    containers: [{name: 'tetragon-operator', image: opImage, ready: true, restartCount: 0}],
  }), inst)
  store.create('services', service(ctx, t.namespace, 'tetragon-operator-metrics', opLabels, opSelector, [{name: 'metrics', port: 2113, protocol: 'TCP', targetPort: 2113}]), inst)

  // TracingPolicies the user applied (the upstream tcp-connect and file_monitoring examples).
  for (const p of t.policies ?? []) store.create('tracingpolicies', tracingPolicy(p), inst)

  // --- The seed's gRPC Service ---
  if (spec.grpcService) {
    const g = spec.grpcService
    store.create('services', service(ctx, g.namespace, g.name, {}, g.selector, [{name: 'grpc', port: g.port, protocol: 'TCP', targetPort: g.targetPort}]), inst)
  }

  // --- Elastic Agent (elastic/elastic-agent deploy/kubernetes/elastic-agent-managed-kubernetes.yaml) ---
  const eaLabels = {app: 'elastic-agent'}
  const eaImage = 'docker.elastic.co/elastic-agent/elastic-agent:8.19.0'
  const eaPodSpec = {
    serviceAccountName: 'elastic-agent',
    hostNetwork: true,
    hostPID: true,
    // The manifest pairs hostNetwork with ClusterFirstWithHostNet so the agent resolves Services.
    dnsPolicy: 'ClusterFirstWithHostNet',
    restartPolicy: 'Always',
    schedulerName: 'default-scheduler',
    tolerations: [{key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule'}, {key: 'node-role.kubernetes.io/master', effect: 'NoSchedule'}],
    containers: [{
      name: 'elastic-agent',
      image: eaImage,
      env: [
        {name: 'FLEET_ENROLL', value: '1'},
        {name: 'FLEET_INSECURE', value: 'false'},
        {name: 'NODE_NAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'spec.nodeName'}}},
        {name: 'POD_NAME', valueFrom: {fieldRef: {apiVersion: 'v1', fieldPath: 'metadata.name'}}},
      ],
      securityContext: {runAsUser: 0},
      resources: {limits: {memory: '1Gi'}, requests: {cpu: '100m', memory: '500Mi'}},
      // Elastic's reference manifest (elastic-agent-managed-kubernetes.yaml) mounts the node's logs and
      // container logs read-only; /var/log/containers is where an export-stdout sidecar's output lands.
      volumeMounts: [
        {name: 'proc', mountPath: '/hostfs/proc', readOnly: true},
        {name: 'cgroup', mountPath: '/hostfs/sys/fs/cgroup', readOnly: true},
        {name: 'varlibdockercontainers', mountPath: '/var/lib/docker/containers', readOnly: true},
        {name: 'varlog', mountPath: '/var/log', readOnly: true},
        {name: 'etc-full', mountPath: '/hostfs/etc', readOnly: true},
        {name: 'var-lib', mountPath: '/hostfs/var/lib', readOnly: true},
      ],
    }],
    volumes: [
      {name: 'proc', hostPath: {path: '/proc'}},
      {name: 'cgroup', hostPath: {path: '/sys/fs/cgroup'}},
      {name: 'varlibdockercontainers', hostPath: {path: '/var/lib/docker/containers'}},
      {name: 'varlog', hostPath: {path: '/var/log'}},
      {name: 'etc-full', hostPath: {path: '/etc'}},
      {name: 'var-lib', hostPath: {path: '/var/lib'}},
    ],
  }
  const eaHash = ctx.names.suffix(10)
  const ea = store.create('daemonsets', {
    metadata: {name: 'elastic-agent', namespace: 'kube-system', labels: eaLabels, annotations: {'deprecated.daemonset.template.generation': '1'}, generation: 1},
    spec: {selector: {matchLabels: eaLabels}, template: {metadata: {labels: eaLabels}, spec: eaPodSpec}, updateStrategy: {type: 'RollingUpdate', rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}, revisionHistoryLimit: 10},
  }, inst)
  for (let i = 1; i <= nodeCount; i++) {
    store.create('pods', makePod(ctx, {
      name: `elastic-agent-${ctx.names.suffix()}`,
      namespace: 'kube-system',
      labels: {...eaLabels, 'controller-revision-hash': eaHash, 'pod-template-generation': '1'},
      owner: ea,
      nodeName: `node-${i}`,
      nodeIndex: i,
      hostNetwork: true,
      qosClass: 'Burstable',
      spec: {...eaPodSpec, tolerations: [...eaPodSpec.tolerations, ...daemonTolerations(true)]},
      containers: [{name: 'elastic-agent', image: eaImage, ready: true, restartCount: 0}],
    }), inst)
  }
}

function tracingPolicy(kind: 'network' | 'file'): KObj {
  if (kind === 'network') {
    // cilium/tetragon v1.7.0 examples/tracingpolicy/tcp-connect.yaml.
    const sock = [{index: 0, type: 'sock'}]
    return {metadata: {name: 'connect'}, spec: {kprobes: [
      {call: 'tcp_connect', syscall: false, args: sock},
      {call: 'tcp_close', syscall: false, args: sock},
      {call: 'tcp_sendmsg', syscall: false, args: [{index: 0, type: 'sock'}, {index: 2, type: 'int'}]},
    ]}}
  }
  // cilium/tetragon v1.7.0 examples/quickstart/file_monitoring.yaml; only the
  // read selector of security_file_permission is spelled out here.
  const ret = {return: true, returnArg: {index: 0, type: 'int'}}
  return {metadata: {name: 'file-monitoring-filtered'}, spec: {kprobes: [
    {call: 'security_file_permission', syscall: false, ...ret, args: [{index: 0, type: 'file'}, {index: 1, type: 'int'}],
      selectors: [{matchArgs: [
        {index: 0, operator: 'Prefix', values: ['/boot', '/root/.ssh', '/etc/shadow', '/etc/profile', '/etc/sudoers', '/etc/pam.conf', '/etc/bashrc', '/etc/csh.cshrc', '/etc/csh.login']},
        {index: 1, operator: 'Equal', values: ['4']},
      ]}]},
    {call: 'security_mmap_file', syscall: false, ...ret, args: [{index: 0, type: 'file'}, {index: 1, type: 'uint32'}, {index: 2, type: 'uint32'}]},
    {call: 'security_path_truncate', syscall: false, ...ret, args: [{index: 0, type: 'path'}]},
  ]}}
}
