// A local HTTP server that counts every request it receives: sandbox tests point escaping code at it and
// then assert that nothing arrived.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CanaryServer {
  url: string;
  /** Requests received so far (method and URL). */
  requests: string[];
  close(): Promise<void>;
}

export async function startCanaryServer(): Promise<CanaryServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.setHeader('access-control-allow-origin', '*');
    res.end('reached');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
