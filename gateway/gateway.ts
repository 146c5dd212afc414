/**
 * The whole gateway assembled from a config: radios → core → upstream, and the embedded broker
 * when no broker URL is configured; the HTTP face and the status topics listen to the core.
 * The daemon (main.ts) and the end-to-end tests both start it here.
 */
import { join, resolve } from 'node:path';
import { createRadio, type RadioFactoryOptions } from '../radios/index.js';
import type { Radio } from '../radios/radio.js';
import { systemClock, type Clock } from './core/clock.js';
import type { AccessSection, GatewayConfig, HttpSection } from './config/config-types.js';
import { ConfigError, loadConfig } from './config/config.js';
import { LIVE_SECTIONS, planReload } from './config/reload-plan.js';
import { GatewayCore } from './core/core.js';
// The embedded broker (aedes) and the session store (classic-level) are loaded only when the config uses them.
import type { EmbeddedBroker } from './broker/embedded-broker.js';
import type { Logger } from './logger.js';
import { MqttUpstream } from './broker/mqtt-upstream.js';
import { TransparentUpstream } from './broker/transparent-upstream.js';
import type { Upstream } from './broker/upstream.js';
import { AccessRules } from './access/access-rules.js';
import type { LevelSessionStore } from './store/level-store.js';
import { formatMessage } from '../sn-codec/format.js';
import { HttpServer } from './http/http-server.js';
import { RetainedStatusSource } from './status/retained-status.js';
import { gatewayStatusTopic, StatusPublisher } from './status/status-publisher.js';

export interface GatewayOptions extends RadioFactoryOptions {
  clock?: Clock;
  logger?: Logger;
  sweepIntervalMs?: number;
  /** The file `reload()` reads again (the daemon's --config). */
  configPath?: string;
  /** Logs every frame in and out, decoded, one line each (the daemon's -v). Needs `logger`. */
  traceFrames?: boolean;
}

/** What a reload did; `POST /api/reload` returns it as JSON. */
export interface ReloadResult {
  /** The file was valid: its live settings are in effect (errors is empty). */
  ok: boolean;
  /** Changed key paths now in effect, e.g. `topics.predefined.5`, `log.level`. */
  applied: string[];
  /** Changed key paths that take effect only after a restart, e.g. `radios[0].port`, `broker.url`. */
  needsRestart: string[];
  /** Every problem in the file (`gateway.yaml:5:11 radios[0].port: …`); the running configuration stays. */
  errors: string[];
}

/** The access rules of a config; undefined when there are none (the core then lets everyone do everything). */
function accessPolicy(access: AccessSection): AccessRules | undefined {
  return access.rules.length > 0 || access.anonymous ? new AccessRules(access) : undefined;
}

export class Gateway {
  readonly core: GatewayCore;
  readonly radios: Radio[] = [];
  readonly upstream: Upstream;
  /** The HTTP face, unless `http: false`. */
  http: HttpServer | undefined;
  status: StatusPublisher | undefined;
  private embedded: EmbeddedBroker | undefined;
  /** Where kept sessions live; undefined with `persistence: false`. */
  readonly store: LevelSessionStore | undefined;
  private running: GatewayConfig;

  private constructor(config: GatewayConfig, upstream: Upstream, core: GatewayCore, embedded: EmbeddedBroker | undefined, store: LevelSessionStore | undefined, private readonly options: GatewayOptions) {
    this.running = config;
    this.upstream = upstream;
    this.core = core;
    this.embedded = embedded;
    this.store = store;
  }

  /** How each of LIVE_SECTIONS takes effect in the running gateway, without touching any session. */
  private readonly liveSections: Record<(typeof LIVE_SECTIONS)[number], (next: GatewayConfig) => void | Promise<void>> = {
    topics: (next) => this.core.setTopics(next.topics),
    access: (next) => this.core.setAccess(accessPolicy(next.access)),
    log: (next) => {
      this.options.logger?.setLevel?.(next.log.level);
      this.options.logger?.setFormat?.(next.log.format);
    },
    http: (next) => this.applyHttp(next.http),
  };

  /** The configuration in effect: the start-up one, with the live sections of every successful reload. */
  get config(): GatewayConfig {
    return this.running;
  }

  /** The embedded broker, when the config names no broker URL. */
  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.embedded;
  }

  /** Broker URL in use: the configured one, or the embedded broker's. */
  get brokerUrl(): string {
    return this.config.broker.url ?? this.embedded!.url;
  }

  static async start(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
    let embedded: EmbeddedBroker | undefined;
    let url = config.broker.url;
    if (url === undefined) {
      const { startEmbeddedBroker } = await import('./broker/embedded-broker.js');
      embedded = await startEmbeddedBroker(config.broker.embedded);
      url = embedded.url;
      options.logger?.log('info', `no broker configured: embedded MQTT broker listening on ${url}`);
    }
    const stateDir = options.stateDir ?? resolve(config.stateDir);
    const log = (level: 'error' | 'warn' | 'info' | 'debug', message: string) => options.logger?.log(level, message);
    let store: LevelSessionStore | undefined;
    let records = new Map<string, unknown>();
    // Transparent mode: each CleanSession=0 sensor's session is the broker's own (its subscriptions and
    // queued messages live there); the gateway's store, built for aggregating mode, is not used.
    const keepSessions = config.persistence && config.broker.mode !== 'transparent';
    if (config.persistence && !keepSessions) log('info', 'transparent mode: the broker keeps each sensor\'s session; the session store (persistence) is not used');
    if (keepSessions) {
      try {
        const { LevelSessionStore } = await import('./store/level-store.js');
        store = await LevelSessionStore.open(join(stateDir, 'sessions'), { fsyncIntervalMs: config.fsyncInterval * 1000, log });
        records = await store.load(log);
      } catch (err) {
        await embedded?.close();
        throw err;
      }
    }
    // The gateway's own connection (in transparent mode too) carries the status topic and its will.
    const statusTopic = config.status === false ? undefined : gatewayStatusTopic(config.status.prefix);
    const upstreamOptions = { url, broker: config.broker, maxQueued: config.gateway.maxOutgoingQueue, statusTopic };
    const upstream: MqttUpstream | TransparentUpstream = config.broker.mode === 'transparent'
      ? new TransparentUpstream({ ...upstreamOptions, credentials: config.clients })
      // The embedded broker is reached in memory, not over loopback TCP (issue 13: less memory, fewer syscalls).
      : new MqttUpstream({ ...upstreamOptions, connect: embedded?.connect, publishInProcess: embedded?.publishInProcess, subscriber: embedded?.subscriber, refusesPublish: embedded?.refusesPublish, persistentSession: store && { expiry: config.gateway.sessionExpiry } });
    const core = new GatewayCore({
      gateway: config.gateway,
      topics: config.topics,
      upstream,
      clock: options.clock ?? systemClock,
      sweepIntervalMs: options.sweepIntervalMs,
      store,
      limits: config.limits,
      // No rules: the core's default lets everyone do everything.
      access: accessPolicy(config.access),
    });
    const gateway = new Gateway(config, upstream, core, embedded, store, options);
    if (options.logger) {
      const logger = options.logger;
      core.events.on('log', (level, message) => logger.log(level, message));
      core.events.on('clientState', (clientId, from, to) => logger.log('debug', `client ${clientId}: ${from} → ${to}`));
      if (options.traceFrames) {
        // As `mosquitto -v` does for MQTT: one line per frame, `<` in and `>` out, with the radio and peer.
        core.frameTrace = (direction, radio, address, nodeId, message) => {
          const peer = nodeId === undefined ? address : `${address} node ${nodeId}`;
          logger.log('debug', `${radio} ${direction === 'in' ? '<' : '>'} ${peer} ${formatMessage(message)}`);
        };
      }
    }
    if (config.status !== false) {
      gateway.status = new StatusPublisher(core, upstream, config.status.prefix);
      gateway.status.start();
      // The embedded broker renders the status topics' retained messages from the sessions: nothing kept per sensor.
      embedded?.serveRetained(new RetainedStatusSource(core, config.status.prefix));
    }
    if (store) {
      for (const { clientId, reason } of core.restore(records)) await store.setAside(clientId, reason);
      if (records.size > 0) log('info', `session store: ${core.sessionsById.size} session(s) restored from ${store.dir}`);
    }
    await upstream.start(core.upstreamSink);
    for (const radioConfig of config.radios) {
      const radio = await createRadio(radioConfig, { ...options, stateDir });
      core.addRadio(radio);
      gateway.radios.push(radio);
    }
    // Radios start side by side: one missing dongle must not hold up the others.
    await Promise.all(gateway.radios.map((r) => r.start(core.radioSink)));
    core.start();
    if (config.http !== false) {
      await gateway.openHttp(config.http);
    }
    return gateway;
  }

  /** The HTTP face on `http`; `POST /api/reload` reloads when the gateway knows its file. */
  private async openHttp(http: HttpSection): Promise<void> {
    const core = this.core;
    const upstream = this.upstream as MqttUpstream | TransparentUpstream;
    this.http = new HttpServer(
      {
        gatewayId: this.running.gateway.id,
        core,
        radios: this.radios,
        broker: upstream,
        embeddedBroker: this.embeddedBroker,
        observeAcknowledgements: (observe) => { upstream.onAcknowledged = observe; },
        reload: this.options.configPath === undefined ? undefined : async () => ({ ...(await this.reload()) }),
      },
      (level, message) => core.log(level, message),
    );
    await this.http.start(http);
  }

  /** A reloaded `http` section: moved to its new host/port, opened, or closed (`http: false`). */
  private async applyHttp(http: HttpSection | false): Promise<void> {
    if (http === false) {
      await this.http?.stop();
      this.http = undefined;
    } else if (this.http) {
      await this.http.moveTo(http);
    } else {
      await this.openHttp(http);
    }
  }

  /**
   * Reads the configuration file again (SIGHUP, `POST /api/reload`). Topic mappings and templates and the
   * log level take effect at once, without touching any session, so no connected or sleeping sensor is
   * dropped; changed radio, broker and gateway keys are reported as needing a restart. A file with errors
   * is refused whole, every error listed, and the running configuration stays.
   */
  async reload(path = this.options.configPath): Promise<ReloadResult> {
    const log = (level: 'info' | 'warn' | 'error', message: string) => this.options.logger?.log(level, message);
    if (path === undefined) {
      const error = 'no configuration file to reload: the gateway was started without one';
      log('error', `reload refused: ${error}`);
      return { ok: false, applied: [], needsRestart: [], errors: [error] };
    }
    let next: GatewayConfig;
    try {
      next = loadConfig(path);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const errors = err.message.split('\n');
      log('error', `reload refused, the running configuration stays: ${errors.length} problem${errors.length === 1 ? '' : 's'} in ${path}`);
      for (const line of errors) log('error', line);
      return { ok: false, applied: [], needsRestart: [], errors };
    }
    const plan = planReload(this.running, next);
    // Restart-only sections keep their running values, so they are reported again until the restart.
    const running: Record<string, unknown> = { ...this.running };
    for (const section of LIVE_SECTIONS) {
      if (!plan.live.some((key) => key === section || key.startsWith(`${section}.`) || key.startsWith(`${section}[`))) continue;
      await this.liveSections[section](next);
      running[section] = (next as unknown as Record<string, unknown>)[section];
    }
    this.running = running as unknown as GatewayConfig;
    log('info', plan.live.length > 0 ? `reload: applied ${plan.live.join(', ')}` : `reload: nothing to apply in ${path}`);
    if (plan.restart.length > 0) log('warn', `reload: changed but not applied until a restart: ${plan.restart.join(', ')}`);
    return { ok: true, applied: plan.live, needsRestart: plan.restart, errors: [] };
  }

  /** A plain-text status report: counters, then one line per client (the daemon logs it on SIGUSR2). */
  statusReport(): string[] {
    const core = this.core;
    const now = core.clock.now();
    const counts = Object.entries(core.stats).map(([k, v]) => `${k}=${v}`).join(' ');
    const kept = this.store ? `; session store ${this.store.dir}: ${core.persistence.commits} transactions` : '; persistence off';
    const lines = [`status: ${core.connectedCount} clients connected, broker ${this.upstream.connected ? 'up' : 'DOWN'} (${this.upstream.pending} pending); ${counts}${kept}`];
    for (const c of core.clients()) {
      const where = c.nodeId === undefined ? `${c.radio} ${c.address}` : `${c.radio} ${c.address} node ${c.nodeId}`;
      const subs = c.subscriptions.map((s) => `${s.filter}@${s.qos}`).join(',') || '-';
      lines.push(`client ${c.clientId}: ${c.state}, ${where}, seen ${Math.round((now - c.lastSeen) / 1000)} s ago, keep-alive ${c.keepAlive} s, buffered ${c.buffered}, in flight ${c.inflight}, dropped ${c.dropped}, will ${c.hasWill ? 'yes' : 'no'}, subscriptions ${subs}`);
    }
    return lines;
  }

  /** Opens (seconds > 0) or closes (0) joining on every Zigbee radio; returns how many Zigbee radios there are and how many took it. */
  async permitJoin(seconds: number): Promise<{ radios: number; permitted: number }> {
    let radios = 0;
    let permitted = 0;
    for (const radio of this.radios) {
      if (radio.kind !== 'zigbee') continue;
      radios++;
      // A radio whose dongle is missing says so in its own log line and answers false.
      if (await (radio as Radio & { permitJoin(seconds: number): Promise<boolean> }).permitJoin(seconds)) permitted++;
    }
    return { radios, permitted };
  }

  async stop(): Promise<void> {
    await this.http?.stop();
    this.status?.stop();
    this.core.stop();
    await Promise.all(this.radios.map((r) => r.stop()));
    // What changed last is written before the broker connection goes (acknowledgements wait for it).
    await this.core.flush();
    await this.upstream.stop();
    await this.store?.close();
    await this.embedded?.close();
  }
}
