// How doctor groups its checks on a terminal (issue #14 item 1): the headings, their order, and what the checks
// blocked by a failure needed from it. Kept apart from the check files so ids stay the only contract they carry.

/** Headings in the order a terminal shows them: each layer's prerequisites first, as `linkerd check` does. */
export const CATEGORIES = ['Kubernetes access', 'Tetragon install', 'gRPC', 'Service and DNS', 'Export', 'Elasticsearch', 'Kibana'] as const

export type Category = (typeof CATEGORIES)[number]

/** Every registered check id → its heading (test/unit/categories.test.ts keeps this complete). */
export const CHECK_CATEGORY: Readonly<Record<string, Category>> = {
  'k8s.connect': 'Kubernetes access',
  'k8s.rbac': 'Kubernetes access',
  'tetragon.daemonset': 'Tetragon install',
  'tetragon.version': 'Tetragon install',
  'tetragon.liveness': 'Tetragon install',
  'tetragon.policies': 'Tetragon install',
  'tetragon.dropped-events': 'Tetragon install',
  'tetragon.grpc-bind': 'gRPC',
  'tetragon.grpc-reachable': 'gRPC',
  'tetragon.schema': 'gRPC',
  'service.exists': 'Service and DNS',
  'service.selector': 'Service and DNS',
  'service.endpoints': 'Service and DNS',
  'dns.service': 'Service and DNS',
  'tetragon.export': 'Export',
  'tetragon.export-filters': 'Export',
  'agent.shipper': 'Export',
  'es.connect': 'Elasticsearch',
  'es.dataset': 'Elasticsearch',
  'es.freshness': 'Elasticsearch',
  'es.fields': 'Elasticsearch',
  'es.pipeline-errors': 'Elasticsearch',
  'es.pipeline': 'Elasticsearch',
  'es.template': 'Elasticsearch',
  'es.simulate': 'Elasticsearch',
  'kibana.package': 'Kibana',
  'kibana.dashboards': 'Kibana',
}

/**
 * What the checks that require a check need from it, for the one line that stands for all of them when it did not
 * pass ("7 checks not evaluated: they need a reachable API"). Checks no other check requires have no entry.
 */
export const NEEDED_FOR: Readonly<Record<string, string>> = {
  'k8s.connect': 'a reachable Kubernetes API',
  'service.exists': 'the gRPC Service',
  'service.selector': 'a Service that selects the agent pods',
  'es.connect': 'a reachable Elasticsearch',
  'es.dataset': 'Tetragon documents in Elasticsearch',
  'es.pipeline': 'the ingest pipeline',
}

/** The heading of a check; undefined for an id this file does not know (a test registry). */
export function categoryOf(id: string): Category | undefined {
  return CHECK_CATEGORY[id]
}
