/** The seed's documented collector target (the tetragon-grpc Service in kube-system). */
export const DOCUMENTED_COLLECTOR_ADDRESS = 'tetragon-grpc.kube-system.svc.cluster.local:54321'

/**
 * validate's probe image: curl's official image, pinned (Alpine + BusyBox: sh, whoami, cat; curl in /usr/bin).
 * Here, not in the service, so `validate --help` names it without loading client code.
 */
export const DEFAULT_PROBE_IMAGE = 'docker.io/curlimages/curl:8.11.1'
