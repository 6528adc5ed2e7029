/** The seed's documented collector target (the tetragon-grpc Service in kube-system). */
export const DOCUMENTED_COLLECTOR_ADDRESS = 'tetragon-grpc.kube-system.svc.cluster.local:54321'
