/**
 * Zigbee radio: the gateway is the Zigbee coordinator (zigbee-herdsman 11 driving a USB dongle).
 * MQTT-SN frames travel as the OCTET_STR of command 0x00 in a manufacturer-specific cluster (see zigbee-cluster.ts).
 * Peers are addressed by IEEE address (`zigbee:0x00124b0012345678`), never by the 16-bit network
 * address, which changes when a node rejoins.
 *
 * herdsman keeps process-wide state (device cache, database handle, logger), so run one ZigbeeRadio per process.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { Controller, setLogger, Zcl, type Events, type Models } from 'zigbee-herdsman';
import { Backoff, type BackoffOptions } from '../common/backoff.js';
import type { LogLevel, Radio, RadioSink } from './radio.js';
import { MQTT_SN_CLUSTER_NAME, MQTT_SN_FRAME_COMMAND, mqttSnCluster, type ZclClusterDefinition } from './zigbee-cluster.js';
import { loadOrCreateNetworkKey } from './zigbee-network-key.js';

type ControllerOptions = ConstructorParameters<typeof Controller>[0];
type Device = Models.Device;
type Endpoint = Models.Endpoint;

export interface ZigbeeRadioOptions {
  /** Where the generated network key is kept; defaults to the directory of the database. */
  stateDir?: string;
  /** Restart backoff after a failed start or a lost dongle (tests inject timers). */
  backoff?: BackoffOptions;
  /** How often a serial dongle's device path is checked while running (ms). */
  presenceCheckMs?: number;
}

export interface ZigbeeRadioStats {
  framesIn: number;
  framesOut: number;
  /** Frames larger than maxFrameSize, not sent. */
  refused: number;
  sendFailures: number;
}

/** herdsman refuses longer windows; 255 would often mean "forever". */
const MAX_PERMIT_JOIN_SECONDS = 254;
const IEEE_ADDRESS = /^0x[0-9a-f]{16}$/;
/** herdsman's start results, in the operator's words: a formation means every device must pair again. */
const START_RESULTS: Record<string, string> = {
  reset: 'formed a new network',
  resumed: 'resumed the network',
  restored: 'restored the network from the backup',
};

export function zigbeeAddress(ieeeAddr: string): string {
  return `zigbee:${ieeeAddr}`;
}

/** `zigbee:0x00124B0012345678` → `0x00124b0012345678` (herdsman's spelling), or undefined. */
export function parseZigbeeAddress(address: string): string | undefined {
  if (!address.startsWith('zigbee:')) return undefined;
  const ieee = address.slice('zigbee:'.length).toLowerCase();
  return IEEE_ADDRESS.test(ieee) ? ieee : undefined;
}

/** One `type: zigbee` entry of gateway.yaml's `radios:`, defaults filled in (gateway/config/config.ts reads it). */
export interface ZigbeeRadioConfig {
  type: 'zigbee';
  name: string;
  adapter: 'zstack' | 'ember' | 'deconz' | 'zigate' | 'zboss' | 'ezsp';
  path: string;
  baudRate?: number;
  rtscts?: boolean;
  panId: number;
  extendedPanId?: number[];
  channel: number;
  /** 16 bytes; undefined = generate once and keep in stateDir. */
  networkKey?: number[];
  /** Seconds to permit joining at start-up; 0 = closed. */
  permitJoin: number;
  databasePath: string;
  backupPath: string;
  /** Manufacturer-specific cluster and code carrying MQTT-SN frames. */
  clusterId: number;
  manufacturerCode: number;
  endpoint: number;
  maxFrameSize: number;
}

export class ZigbeeRadio implements Radio {
  readonly kind = 'zigbee' as const;
  readonly name: string;
  readonly maxFrameSize: number;
  readonly stats: ZigbeeRadioStats = { framesIn: 0, framesOut: 0, refused: 0, sendFailures: 0 };

  private readonly stateDir: string;
  private readonly backoff: Backoff;
  private readonly cluster: ZclClusterDefinition;
  private sink: RadioSink | undefined;
  /** Set only while the coordinator is running. */
  private controller: Controller | undefined;
  private stopped = true;
  private abort: AbortController | undefined;
  private attempt: Promise<void> | undefined;
  private readonly presenceCheckMs: number;
  private presenceTimer: NodeJS.Timeout | undefined;
  /** Why the running coordinator is being given up, for the one log line that says so. */
  private lostReason: string | undefined;
  /** Devices heard speaking MQTT-SN this run → the endpoint they spoke from (where replies go). */
  private readonly peers = new Map<string, number>();

  constructor(
    private readonly config: ZigbeeRadioConfig,
    options: ZigbeeRadioOptions = {},
  ) {
    this.name = config.name;
    this.maxFrameSize = config.maxFrameSize;
    this.stateDir = options.stateDir ?? dirname(config.databasePath);
    this.backoff = new Backoff(options.backoff);
    this.presenceCheckMs = options.presenceCheckMs ?? 2000;
    this.cluster = mqttSnCluster(config.clusterId, config.manufacturerCode);
  }

  get up(): boolean {
    return this.running;
  }

  get running(): boolean {
    return this.controller !== undefined;
  }

  async start(sink: RadioSink): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    routeHerdsmanLogs(sink, this.name);
    await this.attemptStart();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff.cancel();
    this.stopWatchingPresence();
    this.abort?.abort();
    await this.attempt;
    const controller = this.controller;
    this.controller = undefined;
    if (controller) {
      try {
        await controller.stop();
      } catch (error) {
        this.log('warn', `stopping the Zigbee coordinator failed: ${describe(error)}`);
      }
    }
  }

  /** Opens the network for joining for `seconds` (0 closes it; capped at 254). Resolves true when the dongle took it. */
  async permitJoin(seconds: number): Promise<boolean> {
    const controller = this.controller;
    if (!controller) {
      this.log('warn', 'cannot permit joining: the Zigbee coordinator is not running');
      return false;
    }
    const time = Math.max(0, Math.min(MAX_PERMIT_JOIN_SECONDS, Math.floor(seconds)));
    try {
      await controller.permitJoin(time);
      this.log('info', time > 0 ? `Zigbee devices may join for ${time}s` : 'Zigbee joining closed');
      return true;
    } catch (error) {
      this.log('warn', `permit join failed: ${describe(error)}`);
      return false;
    }
  }

  send(address: string, frame: Buffer): void {
    if (!this.fits(frame, address)) return;
    const ieee = parseZigbeeAddress(address);
    const controller = this.controller;
    if (ieee === undefined) return this.failed(address, 'not a Zigbee IEEE address');
    if (!controller) return this.failed(address, 'the Zigbee coordinator is not running');
    const device = controller.getDeviceByIeeeAddr(ieee);
    if (!device) return this.failed(address, 'no such device in the Zigbee network');
    const endpoint = this.endpointOf(device);
    if (!endpoint) return this.failed(address, `device has no endpoint ${this.config.endpoint}`);
    this.transmit(endpoint, frame).then(
      () => this.stats.framesOut++,
      (error: unknown) => this.failed(address, describe(error)),
    );
  }

  /**
   * Unicast to every device that may speak MQTT-SN: heard from this run, or declaring our cluster in its
   * simple descriptor. A Zigbee broadcast would be simpler on paper but is rate-limited by the stack's
   * broadcast table and reaches sleepy end devices only via 0xFFFF buffering; ADVERTISE/GWINFO are rare.
   */
  broadcast(frame: Buffer): void {
    if (!this.fits(frame, 'broadcast')) return;
    const controller = this.controller;
    if (!controller) return;
    for (const device of controller.getDevicesIterator((d) => this.speaksMqttSn(d))) {
      const endpoint = this.endpointOf(device);
      if (!endpoint) continue;
      this.transmit(endpoint, frame).then(
        () => this.stats.framesOut++,
        (error: unknown) => {
          // Not a delivery failure of a unicast the core asked for: a sleeping node simply misses one ADVERTISE.
          this.stats.sendFailures++;
          this.log('debug', `broadcast to ${zigbeeAddress(device.ieeeAddr)} failed: ${describe(error)}`);
        },
      );
    }
  }

  private attemptStart(): Promise<void> {
    const attempt = this.startCoordinator()
      .catch((error: unknown) => this.log('error', `Zigbee start failed: ${describe(error)}`))
      .finally(() => {
        if (this.attempt === attempt) this.attempt = undefined;
      });
    this.attempt = attempt;
    return attempt;
  }

  private async startCoordinator(): Promise<void> {
    if (this.stopped) return;
    let controller: Controller;
    try {
      controller = new Controller(this.controllerOptions(this.networkKey()));
    } catch (error) {
      // Bad key file or invalid network settings: retrying cannot help.
      this.log('error', `cannot start Zigbee: ${describe(error)}`);
      return;
    }
    const abort = new AbortController();
    this.abort = abort;
    let result: string;
    try {
      result = await controller.start(abort.signal);
    } catch (error) {
      await discard(controller);
      if (!this.stopped) this.retry(`cannot start the Zigbee adapter '${this.config.adapter}' on ${this.config.path}: ${describe(error)}`);
      return;
    }
    if (this.stopped) {
      await discard(controller);
      return;
    }
    this.backoff.reset();
    this.controller = controller;
    this.listen(controller);
    this.watchPresence(controller);
    for (const device of controller.getDevicesIterator()) this.register(device);
    this.log('info', `Zigbee coordinator started on ${this.config.path}: ${START_RESULTS[result] ?? result}, channel ${this.config.channel}, PAN 0x${this.config.panId.toString(16).padStart(4, '0')}`);
    if (this.config.permitJoin > 0) await this.permitJoin(this.config.permitJoin);
  }

  private retry(reason: string): void {
    const delay = this.backoff.schedule(() => void this.attemptStart());
    this.log('warn', `${reason}; retrying in ${delay / 1000}s`);
  }

  private networkKey(): number[] {
    if (this.config.networkKey) return this.config.networkKey;
    const stored = loadOrCreateNetworkKey(this.stateDir);
    if (stored.created) this.log('info', `generated a new Zigbee network key in ${stored.path}; back it up with the database`);
    return stored.key;
  }

  private controllerOptions(networkKey: number[]): ControllerOptions {
    const { config } = this;
    return {
      network: {
        panID: config.panId,
        channelList: [config.channel],
        networkKey,
        ...(config.extendedPanId ? { extendedPanID: config.extendedPanId } : {}),
      },
      transport: {
        path: config.path,
        adapter: config.adapter,
        ...(config.baudRate !== undefined ? { baudRate: config.baudRate } : {}),
        ...(config.rtscts !== undefined ? { rtscts: config.rtscts } : {}),
      },
      databasePath: config.databasePath,
      databaseBackupPath: `${config.databasePath}.backup`,
      backupPath: config.backupPath,
      adapter: { disableLED: false },
      // Who may join is decided by permitJoin windows.
      acceptJoiningDeviceHandler: async () => true,
    };
  }

  private listen(controller: Controller): void {
    controller.on('message', (message) => this.onMessage(message));
    // Custom clusters live only in memory: teach every new or re-interviewed device ours.
    controller.on('deviceJoined', ({ device }) => this.register(device));
    controller.on('deviceInterview', ({ status, device }) => {
      this.register(device);
      this.logInterview(status, device);
    });
    controller.on('deviceLeave', ({ ieeeAddr }) => this.peers.delete(ieeeAddr));
    controller.on('adapterDisconnected', () => void this.onAdapterLost(controller));
  }

  /**
   * A serial dongle that is unplugged takes its device node with it, but herdsman may not notice: the serial
   * binding reports the read error (EIO) without closing the port, and every request then waits out its
   * time-out. So while running, check that the path still exists; when it is gone, close herdsman's transport
   * the way a lost connection closes it, so herdsman's own disconnect handling runs and the radio retries.
   * (A `tcp://` coordinator needs no such check: the socket closes.)
   */
  private watchPresence(controller: Controller): void {
    // Only a path that is there now can vanish (a test double's made-up path never was).
    if (!isDevicePath(this.config.path) || !existsSync(this.config.path)) return;
    this.stopWatchingPresence();
    this.presenceTimer = setInterval(() => {
      if (this.controller !== controller) return this.stopWatchingPresence();
      if (existsSync(this.config.path)) return;
      this.stopWatchingPresence();
      this.lostReason = `the Zigbee dongle ${this.config.path} is gone (unplugged?)`;
      const transport = (controller as unknown as ControllerInternals).adapter?.transport;
      if (transport?.emit) transport.emit('close');
      else void this.onAdapterLost(controller);
    }, this.presenceCheckMs);
    this.presenceTimer.unref();
  }

  private stopWatchingPresence(): void {
    clearInterval(this.presenceTimer);
    this.presenceTimer = undefined;
  }

  private register(device: Device): void {
    if (device.type === 'Coordinator' || device.type === 'GreenPower') return;
    device.addCustomCluster(MQTT_SN_CLUSTER_NAME, this.cluster);
  }

  /** One line per join an operator can act on: who joined, and whether it declared our cluster (so hears ADVERTISE). */
  private logInterview(status: 'started' | 'successful' | 'failed', device: Device): void {
    const address = zigbeeAddress(device.ieeeAddr);
    if (status === 'failed') {
      this.log('warn', `Zigbee device ${address} joined but its interview failed; it can still speak MQTT-SN, and hears ADVERTISE once it has spoken`);
    } else if (status === 'successful') {
      const declares = this.speaksMqttSn(device) ? `lists cluster 0x${this.config.clusterId.toString(16)}` : `does not list cluster 0x${this.config.clusterId.toString(16)}`;
      this.log('info', `Zigbee device ${address} joined and was interviewed (network address 0x${device.networkAddress.toString(16).padStart(4, '0')}, ${declares})`);
    }
  }

  private onMessage(message: Events.MessagePayload): void {
    if (message.type !== 'commandFrame' || message.cluster !== MQTT_SN_CLUSTER_NAME) return;
    const address = zigbeeAddress(message.device.ieeeAddr);
    const manufacturerCode = message.meta.manufacturerCode;
    if (manufacturerCode !== this.config.manufacturerCode) {
      // Same cluster id, another vendor's frame (e.g. Philips also uses 0xFC00).
      this.log('debug', `ignored a cluster 0x${this.config.clusterId.toString(16)} frame from ${address} with manufacturer code ${manufacturerCode}`);
      return;
    }
    const data = message.data;
    const frame = Array.isArray(data) || Buffer.isBuffer(data) ? undefined : (data as { frame?: unknown }).frame;
    if (!Buffer.isBuffer(frame)) return;
    this.peers.set(message.device.ieeeAddr, message.endpoint.ID);
    this.stats.framesIn++;
    this.sink?.frame(this, address, frame);
  }

  private async onAdapterLost(controller: Controller): Promise<void> {
    if (this.controller !== controller) return;
    this.controller = undefined;
    this.stopWatchingPresence();
    const reason = this.lostReason ?? `the Zigbee adapter on ${this.config.path} disconnected`;
    this.lostReason = undefined;
    await discard(controller);
    if (!this.stopped) this.retry(reason);
  }

  private speaksMqttSn(device: Device): boolean {
    if (device.type === 'Coordinator' || device.type === 'GreenPower') return false;
    if (this.peers.has(device.ieeeAddr)) return true;
    const id = this.config.clusterId;
    return device.endpoints.some((e) => e.inputClusters.includes(id) || e.outputClusters.includes(id));
  }

  /** Where the device speaks MQTT-SN: where it last spoke from, else the endpoint declaring our cluster, else the configured one. */
  private endpointOf(device: Device): Endpoint | undefined {
    const id = this.config.clusterId;
    const heard = this.peers.get(device.ieeeAddr);
    const declared = device.endpoints.find((e) => e.inputClusters.includes(id) || e.outputClusters.includes(id));
    return device.getEndpoint(heard ?? declared?.ID ?? this.config.endpoint);
  }

  private async transmit(endpoint: Endpoint, frame: Buffer): Promise<void> {
    await endpoint.command(this.config.clusterId, MQTT_SN_FRAME_COMMAND, { frame }, {
      manufacturerCode: this.config.manufacturerCode,
      direction: Zcl.Direction.SERVER_TO_CLIENT,
      disableDefaultResponse: true,
      disableResponse: true,
      // MQTT-SN has its own sleeping-client buffering (§6.14): do not let herdsman queue for sleepy devices too.
      sendPolicy: 'immediate',
    });
  }

  private fits(frame: Buffer, address: string): boolean {
    if (frame.length <= this.maxFrameSize) return true;
    this.stats.refused++;
    this.log('warn', `refused a ${frame.length}-byte frame to ${address}: larger than the ${this.maxFrameSize}-byte Zigbee maximum (MQTT-SN §7.4)`);
    return false;
  }

  private failed(address: string, reason: string): void {
    this.stats.sendFailures++;
    this.log('warn', `frame to ${address} not delivered: ${reason}`);
    this.sink?.deliveryFailed?.(this, address, reason);
  }

  private log(level: LogLevel, message: string): void {
    this.sink?.log(level, `${this.name}: ${message}`);
  }
}

/** The adapter a Controller keeps private; only its serial/TCP transport is touched: to close it, or to report it closed. */
interface ControllerInternals {
  adapter?: { transport?: { close(): Promise<void>; emit?(event: 'close'): boolean } };
}

/** A serial device path, as opposed to herdsman's network forms (`tcp://`, `socket://`, `mdns://`). */
function isDevicePath(path: string): boolean {
  return !/^[a-z]+:\/\//i.test(path);
}

/**
 * Cleans up a controller that failed to start or lost its adapter. herdsman's stop() may itself throw then,
 * and an adapter whose start failed half-way (Z-Stack "Failed to connect to the adapter") keeps its serial
 * port open, so the next attempt would find it locked: close the transport too (a no-op when not open).
 */
async function discard(controller: Controller): Promise<void> {
  try {
    await controller.stop();
  } catch {
    // Nothing more herdsman can release.
  }
  try {
    await (controller as unknown as ControllerInternals).adapter?.transport?.close();
  } catch {
    // Already closed.
  }
}

/** herdsman logs to the console by default; route its warnings and errors to the operator log, drop its debug chatter. */
function routeHerdsmanLogs(sink: RadioSink, radioName: string): void {
  const line = (message: string | (() => string), namespace: string): string =>
    `${radioName}: herdsman ${namespace}: ${typeof message === 'function' ? message() : message}`;
  setLogger({
    debug: () => {},
    info: (message, namespace) => sink.log('debug', line(message, namespace)),
    warning: (message, namespace) => sink.log('warn', line(message, namespace)),
    error: (message, namespace) => sink.log('warn', line(message, namespace)),
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
