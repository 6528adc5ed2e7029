// Scenarios of issue #12: a healthy installation seen through a faulty network path or server. Each names
// the one fault src/lab/faults.ts injects; `tetractl sandbox list` shows them with the others.
import type {FaultKind, FaultTarget} from './faults.js'

export const FAULT_SCENARIOS: Array<{name: string; description: string; target: FaultTarget; kind: FaultKind}> = [
  {name: 'kube-html', target: 'kube', kind: 'html', description: 'fault: a login page answers 200 text/html in place of the Kubernetes API'},
  {name: 'kube-invalid-json', target: 'kube', kind: 'invalid-json', description: 'fault: the Kubernetes API answers truncated JSON'},
  {name: 'kube-endless-continue', target: 'kube', kind: 'endless-continue', description: 'fault: a proxy drops `continue`, so pod lists repeat their first page and token forever'},
  {name: 'kube-huge-list', target: 'kube', kind: 'huge-list', description: 'fault: 100,000 Tetragon agent pods, listed page by page'},
  {name: 'kube-huge-response', target: 'kube', kind: 'huge', description: 'fault: every Kubernetes API answer is a 50 MB body'},
  {name: 'kube-drip', target: 'kube', kind: 'drip', description: 'fault: the Kubernetes API sends headers, then one byte every 200 ms'},
  {name: 'kube-reset', target: 'kube', kind: 'reset', description: 'fault: the Kubernetes API connection is reset halfway through the body'},
  {name: 'kube-wrong-cert', target: 'kube', kind: 'wrong-cert', description: "fault: the API server presents a certificate the kubeconfig's CA did not sign"},
  {name: 'es-html', target: 'es', kind: 'html', description: 'fault: a login page answers 200 text/html in place of Elasticsearch'},
  {name: 'es-invalid-json', target: 'es', kind: 'invalid-json', description: 'fault: Elasticsearch answers truncated JSON'},
  {name: 'es-null', target: 'es', kind: 'null', description: 'fault: Elasticsearch answers `null` where an object belongs'},
  {name: 'es-missing-fields', target: 'es', kind: 'missing', description: 'fault: Elasticsearch answers `{}`: every expected field missing'},
  {name: 'es-huge-response', target: 'es', kind: 'huge', description: 'fault: Elasticsearch answers a 50 MB body'},
  {name: 'es-drip', target: 'es', kind: 'drip', description: 'fault: Elasticsearch sends headers, then one byte every 200 ms'},
  {name: 'es-reset', target: 'es', kind: 'reset', description: 'fault: the Elasticsearch connection is reset halfway through the body'},
  {name: 'es-wrong-cert', target: 'es', kind: 'wrong-cert', description: 'fault: Elasticsearch presents a certificate the configured CA did not sign'},
  {name: 'es-control-chars', target: 'es', kind: 'control-chars', description: 'fault: Elasticsearch error reasons carry terminal escapes and line breaks'},
  {name: 'kibana-html', target: 'kibana', kind: 'html', description: 'fault: a login page answers 200 text/html in place of Kibana'},
  {name: 'kibana-invalid-json', target: 'kibana', kind: 'invalid-json', description: 'fault: Kibana answers truncated JSON'},
  {name: 'kibana-null', target: 'kibana', kind: 'null', description: 'fault: Kibana answers `null` where an object belongs'},
  {name: 'kibana-missing-fields', target: 'kibana', kind: 'missing', description: 'fault: Kibana answers `{}`: every expected field missing'},
  {name: 'kibana-huge-response', target: 'kibana', kind: 'huge', description: 'fault: Kibana answers a 50 MB body'},
  {name: 'kibana-drip', target: 'kibana', kind: 'drip', description: 'fault: Kibana sends headers, then one byte every 200 ms'},
  {name: 'kibana-reset', target: 'kibana', kind: 'reset', description: 'fault: the Kibana connection is reset halfway through the body'},
  {name: 'kibana-wrong-cert', target: 'kibana', kind: 'wrong-cert', description: 'fault: Kibana presents a certificate the configured CA did not sign'},
  {name: 'kibana-control-chars', target: 'kibana', kind: 'control-chars', description: 'fault: Kibana error messages carry terminal escapes and line breaks'},
  {name: 'tetragon-port-forward-drop', target: 'tetragon', kind: 'close-port-forward', description: 'fault: port-forward tunnels to the agent drop once they carry data'},
]
