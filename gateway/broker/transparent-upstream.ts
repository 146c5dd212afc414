/**
 * Transparent upstream: each sensor is its own client at the broker, with its own MQTT connection,
 * opened when its CONNECT arrives. Its ClientId (optionally prefixed), CleanSession and keep-alive are
 * the sensor's; its will is a real MQTT will, so the broker publishes it when the gateway cuts the
 * connection of a lost sensor. Credentials per sensor (`clients.<ClientId>`), else the broker section's.
 *
 * The gateway keeps one connection of its own too (an aggregating MqttUpstream): QoS -1 publishes from
 * sensors that never connected (§6.8) have no session of their own to go through.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BrokerSection, ClientCredentials } from '../config/config-types.js';
import { MqttUpstream } from './mqtt-upstream.js';
import { publishResult } from './mqtt-results.js';
import {
  reportPublished,
  type BrokerQoS, type ClientSession, type ClientSessionOptions, type ClientSessionSink, type OpenResult, type PublishDone, type PublishResult, type Upstream, type UpstreamSink,
} from './upstream.js';

export interface TransparentUpstreamOptions {
  url: string;
  broker: BrokerSection;
  /** QoS 1/2 messages in flight to the broker across all sensors; beyond: congestion. */
  maxQueued: number;
  credentials: Map<string, ClientCredentials>;
  /** The gateway's status topic, on its own connection (see MqttUpstream). */
  statusTopic?: string;
}

/** A CleanSession=0 sensor's broker session must outlive its connection; MQTT 5 ends it at once unless told. */
const SESSION_NEVER_EXPIRES = 0xffffffff;

export class TransparentUpstream implements Upstream {
  private readonly own: MqttUpstream;
  private readonly sessions = new Set<SensorSession>();
  private sink: UpstreamSink | undefined;
  /** QoS 1/2 publishes on sensors' connections not yet acknowledged by the broker. */
  inFlight = 0;

  constructor(private readonly options: TransparentUpstreamOptions) {
    this.own = new MqttUpstream(options);
  }

  get connected(): boolean {
    return this.own.connected;
  }

  get pending(): number {
    return this.own.pending + this.inFlight;
  }

  get url(): string {
    return this.options.url;
  }

  /** Times the gateway's own connection came up. */
  get connections(): number {
    return this.own.connections;
  }

  /** Acknowledgement latency of publishes on the gateway's own connection (sensors' own connections are not measured). */
  set onAcknowledged(observe: ((seconds: number) => void) | undefined) {
    this.own.onAcknowledged = observe;
  }

  /** Sensors with an open broker connection. */
  get openSessions(): number {
    return this.sessions.size;
  }

  get maxQueued(): number {
    return this.options.maxQueued;
  }

  start(sink: UpstreamSink): Promise<void> {
    this.sink = sink;
    return this.own.start(sink);
  }

  /** The gateway stops: each sensor's connection ends with DISCONNECT (a shutdown does not lose sensors). */
  async stop(): Promise<void> {
    await Promise.all([...this.sessions].map((s) => new Promise<void>((resolve) => s.close(true, resolve))));
    await this.own.stop();
  }

  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: (result: PublishResult) => void): boolean {
    return this.own.publish(topic, payload, qos, retain, done);
  }

  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void {
    this.own.subscribe(filter, qos, done);
  }

  unsubscribe(filter: string): void {
    this.own.unsubscribe(filter);
  }

  openClient(options: ClientSessionOptions, sink: ClientSessionSink, done: (result: OpenResult) => void): void {
    const b = this.options.broker;
    const own = this.options.credentials.get(options.clientId);
    const clientOptions: IClientOptions = {
      clientId: b.clientIdPrefix + options.clientId,
      clean: options.cleanSession,
      keepalive: options.keepAlive,
      protocolVersion: b.protocolVersion,
      username: own?.username ?? b.username,
      password: own?.password ?? b.password,
      // Reconnecting on our own would fight a takeover by another gateway: a lost connection is a lost sensor.
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: 10_000,
      queueQoSZero: false,
      log: () => {},
    };
    if (b.protocolVersion === 5 && !options.cleanSession) clientOptions.properties = { sessionExpiryInterval: SESSION_NEVER_EXPIRES };
    if (options.will) clientOptions.will = { ...options.will };
    const cert = own?.cert ?? b.tls?.cert;
    const key = own?.cert ? own.key : b.tls?.key;
    if (b.tls || cert) {
      clientOptions.ca = b.tls?.ca ? readFileSync(b.tls.ca) : undefined;
      clientOptions.cert = cert ? readFileSync(cert) : undefined;
      clientOptions.key = key ? readFileSync(key) : undefined;
      clientOptions.rejectUnauthorized = b.tls?.rejectUnauthorized ?? true;
    }
    const client = mqtt.connect(this.options.url, clientOptions);
    const session = new SensorSession(client, this);
    let answered = false;
    client.once('connect', () => {
      answered = true;
      (client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
      this.sessions.add(session);
      done({ session });
    });
    client.on('error', (err) => {
      const code = (err as Error & { code?: unknown }).code;
      if (!answered) {
        answered = true;
        client.end(true);
        // A number is the broker's CONNACK refusal; a string (ECONNREFUSED...) means it was not reached.
        done({ error: err.message, refused: typeof code === 'number' });
        return;
      }
      this.sink?.log('warn', `broker: sensor ${options.clientId}: ${err.message}`);
    });
    client.on('close', () => {
      if (!answered) {
        answered = true;
        client.end(true);
        done({ error: 'the broker closed the connection before CONNACK', refused: false });
        return;
      }
      if (!this.sessions.delete(session)) return;
      if (!session.closing) sink.closed('the broker closed its connection');
    });
    client.on('message', (topic, payload, packet) => sink.message(topic, payload, packet.qos as BrokerQoS, packet.retain));
  }

  forget(session: SensorSession): void {
    this.sessions.delete(session);
  }
}

/** One sensor's connection. */
class SensorSession implements ClientSession {
  closing = false;

  constructor(
    private readonly client: MqttClient,
    private readonly upstream: TransparentUpstream,
  ) {}

  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: PublishDone): boolean {
    if (this.closing || this.upstream.inFlight >= this.upstream.maxQueued) return false;
    if (qos > 0) this.upstream.inFlight++;
    this.client.publish(topic, payload, { qos, retain }, (err) => {
      if (qos > 0) this.upstream.inFlight--;
      reportPublished(done, publishResult(err));
    });
    return true;
  }

  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void {
    if (this.closing) {
      done?.(0x80);
      return;
    }
    this.client.subscribe(filter, { qos }, (err, granted) => {
      done?.(err ? 0x80 : (granted?.[0]?.qos ?? 0x80));
    });
  }

  unsubscribe(filter: string): void {
    if (!this.closing) this.client.unsubscribe(filter);
  }

  close(clean: boolean, done?: () => void): void {
    if (this.closing) {
      done?.();
      return;
    }
    this.closing = true;
    this.upstream.forget(this);
    // end(false) sends DISCONNECT once in-flight messages are through; end(true) cuts the socket, so the broker publishes the will.
    this.client.end(!clean, {}, () => done?.());
  }
}
