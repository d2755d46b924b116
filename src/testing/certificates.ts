/** A PEM certificate and its private key. */
export interface PemPair {
  cert: string
  key: string
}

/** Throwaway certificates for a mutual-TLS test: one CA, a server and a client it signed, and a stranger. */
export interface TestCertificates {
  /** The CA that signed `server` and `client`: trust it on both sides. */
  ca: PemPair
  /** For `127.0.0.1` and `localhost`. */
  server: PemPair
  /** A client certificate the fake API accepts. */
  client: PemPair
  /** A client certificate from another CA: the fake API refuses it at the handshake. */
  wrongClient: PemPair
}

type Generate = (attrs: unknown, options: unknown) => Promise<{ cert: string; private: string }>

async function loadGenerate(): Promise<Generate> {
  try {
    const mod = (await import('selfsigned')) as { generate?: Generate; default?: { generate: Generate } }
    return (mod.generate ?? mod.default!.generate).bind(mod)
  } catch (error) {
    throw new Error('vue-toss-iap/testing/server: test certificates need the `selfsigned` package (npm install -D selfsigned)', {
      cause: error,
    })
  }
}

const cn = (value: string) => [{ name: 'commonName', value }]
const ec = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' }

/** Makes fresh certificates (EC P-256, valid a day); nothing is written to disk. */
export async function createTestCertificates(): Promise<TestCertificates> {
  const generate = await loadGenerate()
  const notAfterDate = new Date(Date.now() + 24 * 3600 * 1000)
  const caExtensions = [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
  ]
  const leaf = (usage: 'serverAuth' | 'clientAuth') => [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', [usage]: true },
    ...(usage === 'serverAuth'
      ? [
          {
            name: 'subjectAltName',
            altNames: [
              { type: 7, ip: '127.0.0.1' },
              { type: 2, value: 'localhost' },
            ],
          },
        ]
      : []),
  ]
  const pair = (r: { cert: string; private: string }): PemPair => ({ cert: r.cert, key: r.private })
  const [ca, strangerCa] = await Promise.all([
    generate(cn('vue-toss-iap test CA'), { ...ec, notAfterDate, extensions: caExtensions }).then(pair),
    generate(cn('some other CA'), { ...ec, notAfterDate, extensions: caExtensions }).then(pair),
  ])
  const [server, client, wrongClient] = await Promise.all([
    generate(cn('127.0.0.1'), { ...ec, notAfterDate, ca, extensions: leaf('serverAuth') }),
    generate(cn('test mini-app'), { ...ec, notAfterDate, ca, extensions: leaf('clientAuth') }),
    generate(cn('test mini-app'), { ...ec, notAfterDate, ca: strangerCa, extensions: leaf('clientAuth') }),
  ])
  return { ca, server: pair(server), client: pair(client), wrongClient: pair(wrongClient) }
}
