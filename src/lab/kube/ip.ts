import {createHash} from 'node:crypto'

// Address plan of the lab cluster (kubeadm-style): nodes in 10.0.0.0/16, Services in
// 10.96.0.0/12 (kube-apiserver --service-cluster-ip-range default), pods in 10.128.0.0/9 with
// one /24 per node (big enough for 5,000 nodes).

export const SERVICE_CIDR = '10.96.0.0/12'
export const CLUSTER_DNS_IP = '10.96.0.10'
export const KUBERNETES_SERVICE_IP = '10.96.0.1'
export const APISERVER_IP = '10.0.0.2'
/** The nodes' resolver (dnsPolicy Default pods inherit it from the node's /etc/resolv.conf). */
export const NODE_RESOLVER_IP = '10.0.0.2'

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

export function ipToInt(ip: string): number {
  const p = ip.split('.').map(Number)
  return (((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!) >>> 0
}

export function isIPv4(s: string): boolean {
  return /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(s) && s.split('.').every((x) => Number(x) <= 255)
}

/** node-1 → 10.0.0.11, unique for tens of thousands of nodes. */
export function nodeIp(index1: number): string {
  return intToIp(ipToInt('10.0.0.0') + 10 + index1)
}

export function podCidr(index1: number): string {
  return `${intToIp(ipToInt('10.128.0.0') + (index1 - 1) * 256)}/24`
}

/** The n-th pod address (n ≥ 1) in a node's pod CIDR. */
export function podIp(nodeIndex1: number, n: number): string {
  return intToIp(ipToInt('10.128.0.0') + (nodeIndex1 - 1) * 256 + 1 + n)
}

/** Deterministic ClusterIP inside 10.96.0.0/12, avoiding reserved addresses and `taken`. */
export function allocateClusterIp(key: string, taken: Set<string>): string {
  const base = ipToInt('10.96.0.0')
  const size = 1 << 20
  let n = parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16) % size
  for (;;) {
    const ip = intToIp(base + n)
    // .0/.255 host parts are legal in a /12 but look odd; the first 16 are kept for well-known Services.
    if (n > 16 && (n & 255) !== 0 && (n & 255) !== 255 && !taken.has(ip)) {
      taken.add(ip)
      return ip
    }
    n = (n + 1) % size
  }
}

export function inServiceCidr(ip: string): boolean {
  const n = ipToInt(ip)
  const base = ipToInt('10.96.0.0')
  return n >= base && n < base + (1 << 20)
}
