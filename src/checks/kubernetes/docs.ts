// Where the Kubernetes-side checks send the reader.
export const DOCS = {
  install: 'https://tetragon.io/docs/installation/kubernetes/',
  grpc: 'https://tetragon.io/docs/reference/helm-chart/',
  service: 'https://kubernetes.io/docs/concepts/services-networking/service/',
  dns: 'https://kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution/',
  rbac: 'https://kubernetes.io/docs/reference/access-authn-authz/rbac/',
  export: 'https://tetragon.io/docs/concepts/events/',
}
