// TLS material for the lab servers: one CA per process and a localhost server certificate signed by it,
// generated in-process with `selfsigned` (no files unless a caller writes the CA out).

export interface LabTls {
  caPem: string
  cert: string
  key: string
}

let cached: Promise<LabTls> | undefined

export function labTls(): Promise<LabTls> {
  cached ??= (async () => {
    const selfsigned = (await import('selfsigned')).default ?? (await import('selfsigned'))
    const notAfterDate = new Date(Date.now() + 2 * 86_400_000)
    const ca = await selfsigned.generate([{name: 'commonName', value: 'tetractl lab CA'}], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate,
      extensions: [
        {name: 'basicConstraints', cA: true, critical: true},
        {name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true},
      ],
    })
    // Signed by the CA; selfsigned adds SANs localhost and 127.0.0.1 for commonName localhost.
    const leaf = await selfsigned.generate([{name: 'commonName', value: 'localhost'}], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate,
      ca: {key: ca.private, cert: ca.cert},
    })
    return {caPem: ca.cert, cert: leaf.cert, key: leaf.private}
  })()
  return cached
}
