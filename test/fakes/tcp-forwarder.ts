/** A local TCP forwarder standing for a reserved/public IP: new connections go wherever it points now. */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpForwarder {
  port: number;
  url: string;
  /** Where new connections go; undefined = nowhere (connections are refused by closing them). */
  target: () => number | undefined;
  /** Re-points the forwarder; existing connections are cut, as when a real IP moves. */
  setTarget: (port: number | undefined) => void;
  close: () => Promise<void>;
}

export async function startTcpForwarder(targetPort: number | undefined): Promise<TcpForwarder> {
  let target = targetPort;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (target === undefined) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target, '127.0.0.1');
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    target: () => target,
    setTarget(next) {
      target = next;
      for (const socket of open) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
