/**
 * A TCP proxy between the gateway and a real broker that reads the MQTT packets going through it:
 * tests see what the gateway wrote on the wire (packet ids, DUP flags), can hold the broker's answers
 * back (so messages stay in flight), and can cut the connection mid-flight.
 */
import net from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

export interface SeenPacket { connection: number; packet: Packet }

export class MqttProxy {
  /** Packets the gateway sent, in order, tagged with the connection (1, 2, ...) they went on. */
  readonly fromGateway: SeenPacket[] = [];
  /** While true, the broker's bytes are not passed on (they are dropped if the connection is cut). */
  holdBrokerAnswers = false;
  private connections = 0;
  private readonly live = new Set<{ client: net.Socket; upstream: net.Socket }>();

  private constructor(private readonly server: net.Server, readonly url: string) {}

  static async start(brokerUrl: string, protocolVersion: 4 | 5 = 4): Promise<MqttProxy> {
    const target = new URL(brokerUrl);
    let proxy: MqttProxy | undefined;
    const server = net.createServer((client) => proxy!.accept(client, target, protocolVersion));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    proxy = new MqttProxy(server, `mqtt://127.0.0.1:${port}`);
    return proxy;
  }

  private accept(client: net.Socket, target: URL, protocolVersion: 4 | 5): void {
    const connection = ++this.connections;
    const upstream = net.connect(Number(target.port), target.hostname);
    const pair = { client, upstream };
    this.live.add(pair);
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (packet: Packet) => this.fromGateway.push({ connection, packet }));
    client.on('data', (data) => {
      parser.parse(data);
      upstream.write(data);
    });
    const held: Buffer[] = [];
    upstream.on('data', (data) => {
      if (this.holdBrokerAnswers) held.push(data);
      else client.write(data);
    });
    const close = (): void => {
      this.live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  /** Connections the gateway opened through the proxy so far. */
  get connectionCount(): number {
    return this.connections;
  }

  /** PUBLISH packets the gateway sent on `connection`. */
  publishes(connection: number): Packet[] {
    return this.fromGateway.filter((p) => p.connection === connection && p.packet.cmd === 'publish').map((p) => p.packet);
  }

  /** Drops every connection at once (answers held back are lost), as a broker or network failure would. */
  cut(): void {
    for (const { client, upstream } of this.live) {
      client.destroy();
      upstream.destroy();
    }
    this.live.clear();
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
