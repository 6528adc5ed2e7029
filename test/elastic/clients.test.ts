import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {createEsHandle, esOptionsFromEnv, EsUnreachableError, normaliseApiKey, validateEsOptions} from '../../src/clients/elasticsearch.js'
import {kibanaOptionsFromEnv} from '../../src/clients/kibana.js'
import {UserError} from '../../src/engine/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'tetractl-es-client-'))

describe('Elasticsearch client configuration', () => {
  it('is undefined when nothing is configured; flags win over the environment', () => {
    expect(esOptionsFromEnv({})).toBeUndefined()
    const o = esOptionsFromEnv({ELASTICSEARCH_URL: 'https://a:9200', ELASTICSEARCH_USERNAME: 'u'}, {url: 'https://b:9200'})
    expect(o?.url).toBe('https://b:9200')
    expect(o?.username).toBe('u')
  })

  it('rejects a URL without scheme, naming the variable and flag', () => {
    expect(() => validateEsOptions({url: 'es.example.com:9200'})).toThrow(/ELASTICSEARCH_URL \(--es-url\) must start with https:\/\//)
  })

  it('rejects credentials in the URL without echoing them', () => {
    try {
      validateEsOptions({url: 'https://elastic:s3cr3t-pass@es.example.com:9200'})
      expect.unreachable()
    } catch (e) {
      expect((e as Error).message).toContain('must not contain credentials')
      expect((e as UserError).oneLine()).not.toContain('s3cr3t-pass')
    }
  })

  it('accepts the encoded API key or id:key, rejects anything else without echoing it', () => {
    const encoded = Buffer.from('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw').toString('base64')
    expect(normaliseApiKey(encoded)).toBe(encoded)
    expect(normaliseApiKey('VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw')).toBe(encoded)
    for (const bad of ['not a key', 'bm9jb2xvbg==', '%%%%', ':abc']) {
      try {
        normaliseApiKey(bad)
        expect.unreachable()
      } catch (e) {
        expect((e as UserError).oneLine()).toContain('ELASTICSEARCH_API_KEY (--es-api-key) is not a valid API key')
        expect((e as UserError).oneLine()).not.toContain(bad)
      }
    }
  })

  it('reports a missing CA file', () => {
    expect(() => validateEsOptions({url: 'https://es:9200', caFile: join(dir, 'nope.pem')})).toThrow(/ELASTICSEARCH_CA_CERT \(--es-ca-cert\) file not found/)
  })

  it('requires both username and password', () => {
    expect(() => validateEsOptions({url: 'https://es:9200', username: 'u'})).toThrow(/ELASTICSEARCH_PASSWORD/)
  })

  it('decodes a Cloud ID into the Elasticsearch URL', () => {
    const id = `dep:${Buffer.from('us-east-1.aws.found.io:443$abc123$def456').toString('base64')}`
    expect(validateEsOptions({cloudId: id}).url).toBe('https://abc123.us-east-1.aws.found.io')
    expect(() => validateEsOptions({cloudId: 'garbage'})).toThrow(/ELASTICSEARCH_CLOUD_ID/)
  })

  it('an unresolvable host becomes a one-line unreachable error naming the variable', async () => {
    const es = await createEsHandle({url: 'https://tetractl-no-such-host.invalid:9200', requestTimeoutMs: 5000})
    const e = await es.info().catch((x) => x)
    expect(e).toBeInstanceOf(EsUnreachableError)
    expect(e.message).toMatch(/Cannot resolve the host tetractl-no-such-host.invalid:9200 of ELASTICSEARCH_URL|Cannot connect/)
    await es.close()
  })

  it('connection refused is unreachable', async () => {
    const es = await createEsHandle({url: 'https://127.0.0.1:1', requestTimeoutMs: 2000})
    await expect(es.info()).rejects.toThrow(/connection refused/)
    await es.close()
  })
})

describe('Kibana client configuration', () => {
  it('falls back to the Elasticsearch credentials and CA', () => {
    const o = kibanaOptionsFromEnv({KIBANA_URL: 'https://k:5601', ELASTICSEARCH_API_KEY: 'a:b', ELASTICSEARCH_CA_CERT: '/ca.pem'})
    expect(o).toMatchObject({url: 'https://k:5601', apiKey: 'a:b', caFile: '/ca.pem'})
    expect(kibanaOptionsFromEnv({ELASTICSEARCH_URL: 'https://e'})).toBeUndefined()
  })
})
