/**
 * A stand-in for a Zigbee dongle: a zigbee-herdsman Adapter that "resumes" the configured network, records the
 * ZCL frames herdsman hands it, and lets a test play a device by emitting `zclPayload` events.
 * Install it with `vi.spyOn(Adapter, 'create')` (herdsman's Controller gets its adapter from there).
 * Seed the database with `writeHerdsmanDatabase` so herdsman neither queries the coordinator nor interviews devices.
 */
import { writeFileSync } from 'node:fs';
import { Zcl, type ZSpec, type Zdo } from 'zigbee-herdsman';
import { Adapter } from 'zigbee-herdsman/dist/adapter/adapter.js';
import type { ZclPayload } from 'zigbee-herdsman/dist/adapter/events.js';
import type { AdapterOptions, CoordinatorVersion, NetworkOptions, NetworkParameters, StartResult, TransportOptions } from 'zigbee-herdsman/dist/adapter/tstype.js';
import type { Backup } from 'zigbee-herdsman/dist/models/backup.js';

export { Adapter };

export const FAKE_COORDINATOR_IEEE = '0x00124b00000c0001';

/** One ZCL frame herdsman asked the dongle to send to a device endpoint. */
export interface SentZclFrame {
  ieeeAddr: string;
  networkAddress: number;
  endpoint: number;
  sourceEndpoint: number | undefined;
  profileId: number | undefined;
  /** The ZCL frame as it would go on air: header + payload. */
  zcl: Buffer;
}

export interface BroadcastZclFrame {
  endpoint: number;
  destination: number;
  zcl: Buffer;
}

export interface UplinkZcl {
  networkAddress: number;
  endpoint: number;
  clusterId: number;
  /** Whole ZCL frame (header + payload) as the device sent it. */
  zcl: Buffer;
}

export class FakeZigbeeAdapter extends Adapter {
  readonly sentToEndpoint: SentZclFrame[] = [];
  readonly sentToAll: BroadcastZclFrame[] = [];
  readonly permitJoinCalls: number[] = [];
  /** When set, sendZclFrameToEndpoint rejects with it (a device that does not answer at the MAC/APS level). */
  sendError: Error | undefined;
  /** When set, start() rejects with it (dongle present but its firmware does not answer). */
  startError: Error | undefined;
  started = false;
  stopped = false;

  constructor(network: NetworkOptions, transport: TransportOptions, backupPath: string, adapterOptions: AdapterOptions) {
    super(network, transport, backupPath, adapterOptions);
  }

  /** The options herdsman's Controller passed (network key included). */
  get network(): NetworkOptions {
    return this.networkOptions;
  }

  /** Plays a device: the coordinator receives `zcl` from it. */
  receive(uplink: UplinkZcl): void {
    const payload: ZclPayload = {
      clusterID: uplink.clusterId,
      address: uplink.networkAddress,
      header: Zcl.Header.fromBuffer(uplink.zcl),
      data: uplink.zcl,
      endpoint: uplink.endpoint,
      linkquality: 200,
      groupID: 0,
      wasBroadcast: false,
      destinationEndpoint: 1,
    };
    this.emit('zclPayload', payload);
  }

  /** Plays a device joining the network. */
  join(ieeeAddr: string, networkAddress: number): void {
    this.emit('deviceJoined', { ieeeAddr, networkAddress });
  }

  /** Plays the dongle being unplugged (the serial port closed). */
  unplug(): void {
    this.emit('disconnected');
  }

  async start(): Promise<StartResult> {
    if (this.startError) throw this.startError;
    this.started = true;
    return 'resumed';
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }

  async getCoordinatorIEEE(): Promise<string> {
    return FAKE_COORDINATOR_IEEE;
  }

  async getCoordinatorVersion(): Promise<CoordinatorVersion> {
    return { type: 'fake', meta: {} };
  }

  async reset(): Promise<void> {}

  async supportsBackup(): Promise<boolean> {
    return false;
  }

  async backup(): Promise<Backup> {
    throw new Error('fake adapter: no backup');
  }

  /** Reports the configured network so herdsman sees no channel change to make. */
  async getNetworkParameters(): Promise<NetworkParameters> {
    const extended = this.networkOptions.extendedPanID ?? [];
    return {
      panID: this.networkOptions.panID,
      extendedPanID: `0x${extended.map((b) => b.toString(16).padStart(2, '0')).join('')}`,
      channel: this.networkOptions.channelList[0],
      nwkUpdateID: 0,
    };
  }

  async addInstallCode(): Promise<void> {}

  waitFor(): { promise: Promise<ZclPayload>; cancel: () => void } {
    return { promise: Promise.reject(new Error('fake adapter: nothing to wait for')), cancel: () => {} };
  }

  /** No ZDO: a seeded database means herdsman never needs it; a joining device's interview fails fast. */
  async sendZdo(_ieee: string, _nwk: number, clusterId: Zdo.ClusterId): Promise<never> {
    throw new Error(`fake adapter: ZDO ${clusterId} not supported`);
  }

  async permitJoin(seconds: number): Promise<void> {
    this.permitJoinCalls.push(seconds);
  }

  async sendZclFrameToEndpoint(
    ieeeAddr: string,
    networkAddress: number,
    endpoint: number,
    zclFrame: Zcl.Frame,
    _timeout: number,
    _disableResponse: boolean,
    _disableRecovery: boolean,
    sourceEndpoint?: number,
    profileId?: number,
  ): Promise<undefined> {
    if (this.sendError) throw this.sendError;
    this.sentToEndpoint.push({ ieeeAddr, networkAddress, endpoint, sourceEndpoint, profileId, zcl: zclFrame.toBuffer() });
    return undefined;
  }

  async sendZclFrameToGroup(): Promise<void> {}

  async sendZclFrameToAll(endpoint: number, zclFrame: Zcl.Frame, _sourceEndpoint: number, destination: ZSpec.BroadcastAddress): Promise<void> {
    this.sentToAll.push({ endpoint, destination, zcl: zclFrame.toBuffer() });
  }

  async setChannelInterPAN(): Promise<void> {}

  async sendZclFrameInterPANToIeeeAddr(): Promise<void> {}

  async sendZclFrameInterPANBroadcast(): Promise<never> {
    throw new Error('fake adapter: no inter-PAN');
  }

  async restoreChannelInterPAN(): Promise<void> {}
}

export interface SeededDevice {
  ieeeAddr: string;
  networkAddress: number;
  endpoint: number;
  inputClusters?: number[];
  outputClusters?: number[];
}

/** Writes a herdsman database holding the fake coordinator and `devices`, all interviewed (interviewState SUCCESSFUL). */
export function writeHerdsmanDatabase(path: string, devices: SeededDevice[]): void {
  const endpointRecord = (epId: number, inClusterList: number[], outClusterList: number[]) => ({
    profId: 0x0104,
    epId,
    devId: 0x0000,
    inClusterList,
    outClusterList,
    clusters: {},
    binds: [],
    configuredReportings: [],
    meta: {},
  });
  const coordinator = {
    id: 1,
    type: 'Coordinator',
    ieeeAddr: FAKE_COORDINATOR_IEEE,
    nwkAddr: 0,
    manufId: 0xffff,
    epList: [1],
    endpoints: { 1: endpointRecord(1, [], []) },
    interviewCompleted: true,
    interviewState: 'SUCCESSFUL',
    meta: {},
  };
  const rows = devices.map((d, i) => ({
    id: i + 2,
    type: 'EndDevice',
    ieeeAddr: d.ieeeAddr,
    nwkAddr: d.networkAddress,
    manufId: 0xfff1,
    manufName: 'test',
    powerSource: 'Battery',
    modelId: 'mqtt-sn-sensor',
    epList: [d.endpoint],
    endpoints: { [d.endpoint]: endpointRecord(d.endpoint, d.inputClusters ?? [0x0000], d.outputClusters ?? []) },
    interviewCompleted: true,
    interviewState: 'SUCCESSFUL',
    meta: {},
  }));
  writeFileSync(path, [coordinator, ...rows].map((row) => JSON.stringify(row)).join('\n'));
}
