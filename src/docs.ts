// Where a finding sends the reader: one map for every check and validate stage. Each link is the upstream page that
// explains the component involved (the Tetragon chart, Kubernetes Services, the cilium_tetragon Elastic package, …);
// the README's check catalogue describes each check id.
export const DOCS = {
  // Kubernetes and the Tetragon install
  install: 'https://tetragon.io/docs/installation/kubernetes/',
  grpc: 'https://tetragon.io/docs/reference/helm-chart/',
  service: 'https://kubernetes.io/docs/concepts/services-networking/service/',
  dns: 'https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/',
  rbac: 'https://kubernetes.io/docs/reference/access-authn-authz/rbac/',
  // The agents
  events: 'https://tetragon.io/docs/concepts/events/',
  versions: 'https://github.com/cilium/tetragon/releases',
  troubleshooting: 'https://tetragon.io/docs/troubleshooting/',
  policies: 'https://tetragon.io/docs/concepts/tracing-policy/',
  metrics: 'https://tetragon.io/docs/reference/metrics/',
  // Elasticsearch and Kibana
  package: 'https://www.elastic.co/docs/reference/integrations/cilium_tetragon',
  integrationPr: 'https://github.com/elastic/integrations/pull/11610',
  dataStreams: 'https://www.elastic.co/docs/manage-data/data-store/data-streams',
  rollover: 'https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-rollover',
  pipelines: 'https://www.elastic.co/docs/manage-data/ingest/transform-enrich/ingest-pipelines',
  simulate: 'https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-ingest-simulate',
  privileges: 'https://www.elastic.co/docs/reference/elasticsearch/security-privileges',
  fleetApi: 'https://www.elastic.co/docs/reference/fleet/fleet-api-docs',
  compat: 'https://github.com/elastic/elasticsearch-js#compatibility',
} as const
