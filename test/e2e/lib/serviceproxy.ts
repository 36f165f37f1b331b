/**
 * @module
 * A Service's cluster IP and port, for clients that keep connecting to it for their whole life
 * (pgBouncer's `[databases]`): a TCP listener on 127.0.0.1 that picks the Service's endpoint at
 * each connection, as kube-proxy does, so the client follows a new primary without being told.
 * A Service without a ready endpoint refuses the connection (kube-proxy's REJECT).
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export class ServiceProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    readonly port: number,
    endpoint: () => number | undefined,
  ) {
    this.server = createServer((client) => {
      const target = endpoint();
      if (target === undefined) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: "127.0.0.1", port: target });
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        // either side going away ends the pair, like a reset through kube-proxy
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async listen(port: number, endpoint: () => number | undefined): Promise<ServiceProxy> {
    const p = new ServiceProxy(port, endpoint);
    await new Promise<void>((resolve, reject) => {
      p.server.once("error", reject);
      p.server.listen(port, "127.0.0.1", () => resolve());
    });
    return p;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
