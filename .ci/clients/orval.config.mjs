export default {
  smartsupport: {
    input: { target: '../../openapi.yaml' },
    output: {
      target: 'out/orval/client.ts',
      client: 'fetch',
      mode: 'single',
      clean: true,
      // header parameters (Idempotency-Key, If-Match) become a typed argument
      headers: true,
      // base URL at run time, credentials, JSON Content-Type: see orval-fetch.ts
      override: { mutator: { path: './orval-fetch.ts', name: 'smartsupportFetch' } },
    },
  },
};
