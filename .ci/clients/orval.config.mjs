export default {
  smartsupport: {
    input: { target: '../../openapi.yaml' },
    output: { target: 'out/orval/client.ts', client: 'fetch', mode: 'single', clean: true },
  },
};
