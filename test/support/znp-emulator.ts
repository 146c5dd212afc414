/**
 * A Z-Stack ZNP dongle (CC2652/CC1352 running TI's coordinator firmware), emulated for tests: it answers
 * zigbee-herdsman's real `zstack` adapter over a real socat pseudo-terminal pair or a TCP socket on 127.0.0.1,
 * keeps its NV items and network state across gateway restarts, plays end devices on the "air", and can
 * inject faults (a failed AF_DATA_CONFIRM, the dongle vanishing).
 *
 * Framing and parameter layouts come from herdsman's own ZNP command table (the dongle and the host must
 * agree on it); the behaviour behind each command is TI's, written down here. A frame the emulator does not
 * understand is recorded in `problems` by name (`SREQ SYS nvCreate`), and `assertNoProblems()` fails the
 * test that caused it, instead of herdsman timing out silently.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import * as BuffaloZnpModule from 'zigbee-herdsman/dist/adapter/z-stack/znp/buffaloZnp.js';
import * as DefinitionModule from 'zigbee-herdsman/dist/adapter/z-stack/znp/definition.js';
import { ZpiObject } from 'zigbee-herdsman/dist/adapter/z-stack/znp/zpiObject.js';
import * as Structs from 'zigbee-herdsman/dist/adapter/z-stack/structs/index.js';
import { decode, encode } from '../../sn-codec/index.js';
import type { SnMessage } from '../../sn-codec/types.js';
import { RadioSensor } from './radio-sensors.js';
import { until, WAIT_MS } from './harness.js';

// herdsman's dist is CommonJS with `exports.default`; ESM interop may or may not unwrap it.
const unwrap = <T>(m: unknown): T => ((m as { default?: T }).default ?? (m as T));
type ParamDef = { name: string; parameterType: number };
type CmdDef = { name: string; ID: number; type: number; request?: ParamDef[]; response?: ParamDef[]; zdoClusterId?: number };
/** herdsman's own parameter reader (private in its typings, public at run time). */
const readParameters = (ZpiObject as unknown as { readParameters(data: Buffer, params: ParamDef[]): Record<string, unknown> }).readParameters.bind(ZpiObject);
const Definition = unwrap<Record<number, CmdDef[]>>(DefinitionModule);
type Buffalo = { write(type: number, value: unknown, options: object): void; getWritten(): Buffer };
const BuffaloZnp = unwrap<new (buffer: Buffer) => Buffalo>(BuffaloZnpModule);

const SOF = 0xfe;
export const Type = { SREQ: 1, AREQ: 2, SRSP: 3 } as const;
export const Subsystem = { SYS: 1, AF: 4, ZDO: 5, UTIL: 7, APP_CNF: 15 } as const;
const SUBSYSTEM_NAME: Record<number, string> = { 1: 'SYS', 2: 'MAC', 3: 'NWK', 4: 'AF', 5: 'ZDO', 6: 'SAPI', 7: 'UTIL', 8: 'DEBUG', 9: 'APP', 15: 'APP_CNF', 21: 'GREENPOWER' };
const TYPE_NAME: Record<number, string> = { 1: 'SREQ', 2: 'AREQ', 3: 'SRSP' };

/** NV item ids herdsman reads and writes (Z-Stack 3.x `ZCD_NV_*`). */
export const Nv = {
  NIB: 0x21,
  EXTENDED_PAN_ID: 0x2d,
  NWK_ACTIVE_KEY_INFO: 0x3a,
  NWK_ALTERN_KEY_INFO: 0x3b,
  HAS_CONFIGURED_ZSTACK3: 0x60,
  PRECFGKEY: 0x62,
  STARTUP_OPTION: 0x03,
  PANID: 0x83,
  CHANLIST: 0x84,
  NWKKEY: 0x82,
} as const;

/** AF_DATA_CONFIRM statuses (ZnpCommandStatus). */
export const DataConfirmStatus = { SUCCESS: 0x00, APS_NO_ACK: 0xb7, MAC_NO_ACK: 0xe9, MAC_TRANSACTION_EXPIRED: 0xf0 } as const;
/** Z-Stack's association node relation for an end device that is the coordinator's child (CHILD_RFD). */
const CHILD_RFD = 0x01;
const DEV_STATE_HOLD = 0x00;
const DEV_STATE_COORDINATOR = 0x09;
const ZDO_STATUS_DEVICE_NOT_FOUND = 0x81;

export interface EmulatedEndpoint {
  id: number;
  profileId: number;
  deviceId: number;
  inClusters: number[];
  outClusters: number[];
}

/** genBasic (0x0000) attributes a device answers reads of; the others get UNSUPPORTED_ATTRIBUTE. */
export interface BasicAttributes {
  modelId?: string;
  manufacturerName?: string;
  /** ZCL power source enum: 0x03 = battery. */
  powerSource?: number;
}

export interface EmulatedDeviceSpec {
  ieee: string;
  nwk: number;
  /** Answers to herdsman's interview reads when the endpoint lists genBasic. */
  basic?: BasicAttributes;
  /** Node descriptor manufacturer code (avoid 0, 0x1002, 0x120B: they make herdsman's interview slow). */
  manufacturerCode?: number;
  endpoints: EmulatedEndpoint[];
}

/** One AF_DATA_REQUEST the host asked the dongle to send, and what the dongle confirmed. */
export interface AfDataRequest {
  dstaddr: number;
  destendpoint: number;
  srcendpoint: number;
  clusterid: number;
  transid: number;
  options: number;
  radius: number;
  data: Buffer;
  confirmed: number;
}

export interface PermitJoinRequest {
  addrMode: number;
  dstaddr: number;
  duration: number;
}

/** What the emulator needs from a link: a place to write, and to be told of bytes. */
interface Link {
  write(bytes: Buffer): void;
}

/** The dongle: NV memory, network state, the host protocol, and the radio side with its devices. */
export class ZnpDongle {
  readonly ieee = '0x00124b0001c0ffee';
  /** NV items as the firmware keeps them; survives gateway restarts (the dongle stays plugged in). */
  readonly nv = new Map<number, Buffer>();
  /** Every command received, `SREQ SYS ping` style, in order. */
  readonly received: string[] = [];
  readonly problems: string[] = [];
  readonly dataRequests: AfDataRequest[] = [];
  readonly permitJoins: PermitJoinRequest[] = [];
  /** How many times the network was formed (BDB commissioning). */
  formations = 0;
  private devState = DEV_STATE_HOLD;
  private primaryChannels = 0;
  private readonly registered = new Map<number, Record<string, unknown>>();
  private readonly devices: ZnpDevice[] = [];
  private readonly confirmFaults: number[] = [];
  private permitJoinUntil = 0;
  private link: Link | undefined;
  private input = Buffer.alloc(0);
  /** AF_INCOMING_MSG's timestamp field. */
  private timestamp = 0;

  constructor() {
    this.factoryReset();
  }

  /** A fresh dongle: only the items a Z-Stack image ships with (the 24-byte aligned ZCD_NV_NWKKEY tells herdsman the alignment). */
  private factoryReset(): void {
    this.nv.clear();
    this.nv.set(Nv.NWKKEY, Buffer.alloc(24));
  }

  /** Replaces the NV memory with a copy of `items` (another dongle's, say): the firmware then starts from it. */
  loadNv(items: ReadonlyMap<number, Buffer>): void {
    this.nv.clear();
    for (const [id, value] of items) this.nv.set(id, Buffer.from(value));
  }

  get formed(): boolean {
    return this.nv.has(Nv.NIB);
  }

  get joinPermitted(): boolean {
    return Date.now() < this.permitJoinUntil;
  }

  /** The network key the dongle uses (from the active key info), or undefined before formation. */
  get networkKey(): Buffer | undefined {
    const item = this.nv.get(Nv.NWK_ACTIVE_KEY_INFO);
    return item ? Buffer.from(Structs.nwkKeyDescriptor(item).key) : undefined;
  }

  get nib(): ReturnType<typeof Structs.nib> | undefined {
    const item = this.nv.get(Nv.NIB);
    return item ? Structs.nib(item) : undefined;
  }

  /** Power lost and back: RAM state (running network, registered endpoints, join window) gone, NV kept. */
  powerCycle(): void {
    this.devState = DEV_STATE_HOLD;
    this.registered.clear();
    this.permitJoinUntil = 0;
  }

  /** The profile an endpoint was registered with (AF_REGISTER), or undefined. */
  endpointProfile(endpoint: number): number | undefined {
    return this.registered.get(endpoint)?.appprofid as number | undefined;
  }

  /** Adds an end device on the air (not joined yet). */
  device(spec: EmulatedDeviceSpec, mqttSn: Partial<MqttSnZclOptions> = {}): ZnpDevice {
    const device = new ZnpDevice(this, spec, mqttSn);
    this.devices.push(device);
    return device;
  }

  /** The next AF_DATA_CONFIRMs carry these statuses instead of SUCCESS (e.g. APS_NO_ACK). */
  failNextDataConfirms(...statuses: number[]): void {
    this.confirmFaults.push(...statuses);
  }

  /** Throws (once) for the problems met since the last call: call it after each test, so the test that caused them fails. */
  assertNoProblems(): void {
    const problems = this.problems.splice(0);
    if (problems.length > 0) throw new Error(`the ZNP emulator met frames it does not understand:\n  ${problems.join('\n  ')}`);
  }

  /** Waits until `count` commands named `name` (e.g. `SREQ ZDO mgmtPermitJoinReq`) have arrived. */
  async waitForCommand(name: string, count = 1, timeoutMs = 10_000): Promise<void> {
    await until(() => this.received.filter((r) => r === name).length >= count, timeoutMs, () => `${count}× ${name}; got ${this.received.slice(-20).join(', ')}`);
  }

  // ---- links -------------------------------------------------------------------------------------------

  attach(link: Link): void {
    this.link = link;
    this.input = Buffer.alloc(0);
  }

  detach(link: Link): void {
    if (this.link === link) this.link = undefined;
  }

  bytes(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    for (;;) {
      const start = this.input.indexOf(SOF);
      // Anything before a start byte is noise: herdsman's skip-bootloader byte 0xEF is the expected one.
      if (start < 0) {
        this.input = Buffer.alloc(0);
        return;
      }
      if (start > 0) this.input = this.input.subarray(start);
      if (this.input.length < 5) return;
      const length = this.input[1];
      if (this.input.length < length + 5) return;
      const frame = this.input.subarray(0, length + 5);
      this.input = this.input.subarray(length + 5);
      let fcs = 0;
      for (const b of frame.subarray(1, length + 4)) fcs ^= b;
      if (fcs !== frame[length + 4]) {
        this.problem(`a frame with a bad FCS: ${frame.toString('hex')}`);
        continue;
      }
      this.frame(frame[2] >> 5, frame[2] & 0x1f, frame[3], Buffer.from(frame.subarray(4, 4 + length)));
    }
  }

  private problem(what: string): void {
    this.problems.push(what);
  }

  private send(type: number, subsystem: number, name: string, payload: Record<string, unknown>): void {
    const cmd = command(subsystem, name);
    const params = type === Type.SRSP ? cmd.response : cmd.request;
    const buffalo = new BuffaloZnp(Buffer.alloc(256));
    for (const p of params ?? []) buffalo.write(p.parameterType, payload[p.name], {});
    this.sendRaw(type, subsystem, cmd.ID, buffalo.getWritten());
  }

  private sendRaw(type: number, subsystem: number, id: number, data: Buffer): void {
    const frame = Buffer.alloc(data.length + 5);
    frame[0] = SOF;
    frame[1] = data.length;
    frame[2] = (type << 5) | subsystem;
    frame[3] = id;
    data.copy(frame, 4);
    let fcs = 0;
    for (const b of frame.subarray(1, data.length + 4)) fcs ^= b;
    frame[data.length + 4] = fcs;
    this.link?.write(frame);
  }

  /** An indication sent after the SRSP that caused it, as the firmware does. */
  private later(fn: () => void, ms = 0): void {
    setTimeout(fn, ms);
  }

  // ---- host → dongle -----------------------------------------------------------------------------------

  private frame(type: number, subsystem: number, id: number, data: Buffer): void {
    const cmd = Definition[subsystem]?.find((c) => c.ID === id && c.type === type);
    const name = `${TYPE_NAME[type] ?? type} ${SUBSYSTEM_NAME[subsystem] ?? subsystem} ${cmd?.name ?? `0x${id.toString(16)}`}`;
    this.received.push(name);
    const handler = cmd && this.handlers[`${SUBSYSTEM_NAME[subsystem]}.${cmd.name}`];
    if (!cmd || !handler) {
      this.problem(`${name} (${data.toString('hex')}) is not emulated`);
      // Fail the request at once (status FAILURE) rather than let herdsman wait out its 6 s time-out.
      if (cmd && type === Type.SREQ) this.refuse(subsystem, cmd);
      return;
    }
    const payload = cmd.zdoClusterId === undefined && cmd.request ? readParameters(data, cmd.request) : {};
    handler(payload, data);
  }

  private refuse(subsystem: number, cmd: CmdDef): void {
    if (cmd.zdoClusterId !== undefined) return this.sendRaw(Type.SRSP, subsystem, cmd.ID, Buffer.from([0x01]));
    const payload: Record<string, unknown> = {};
    for (const p of cmd.response ?? []) payload[p.name] = p.name === 'status' ? 0x01 : emptyValue(p.parameterType);
    this.send(Type.SRSP, subsystem, cmd.name, payload);
  }

  private srsp(subsystem: number, name: string, payload: Record<string, unknown> = {}): void {
    this.send(Type.SRSP, subsystem, name, payload);
  }

  private readonly handlers: Record<string, (p: Record<string, unknown>, raw: Buffer) => void> = {
    'SYS.ping': () => this.srsp(Subsystem.SYS, 'ping', { capabilities: 0x0d79 }),
    // Z-Stack 3.x.0 (product 1), a 2023 build: firmware this recent drives its own LED.
    'SYS.version': () => this.srsp(Subsystem.SYS, 'version', { transportrev: 2, product: 1, majorrel: 2, minorrel: 7, maintrel: 1, revision: 20230507 }),
    'SYS.getExtAddr': () => this.srsp(Subsystem.SYS, 'getExtAddr', { extaddress: this.ieee }),
    'SYS.osalNvLength': (p) => this.srsp(Subsystem.SYS, 'osalNvLength', { length: this.nv.get(p.id as number)?.length ?? 0 }),
    'SYS.osalNvReadExt': (p) => {
      const item = this.nv.get(p.id as number);
      if (!item) return this.srsp(Subsystem.SYS, 'osalNvReadExt', { status: 0x0a, len: 0, value: Buffer.alloc(0) });
      const value = item.subarray(p.offset as number, (p.offset as number) + 240);
      this.srsp(Subsystem.SYS, 'osalNvReadExt', { status: 0, len: value.length, value });
    },
    'SYS.osalNvItemInit': (p) => {
      const id = p.id as number;
      if (this.nv.has(id)) return this.srsp(Subsystem.SYS, 'osalNvItemInit', { status: 0x00 });
      const item = Buffer.alloc(p.len as number);
      (p.initvalue as Buffer).copy(item);
      this.nv.set(id, item);
      // 0x09 NV_ITEM_UNINIT: "created", the status herdsman expects for a new item.
      this.srsp(Subsystem.SYS, 'osalNvItemInit', { status: 0x09 });
    },
    'SYS.osalNvWriteExt': (p) => {
      const item = this.nv.get(p.id as number);
      const value = p.value as Buffer;
      const offset = p.offset as number;
      if (!item || offset + value.length > item.length) return this.srsp(Subsystem.SYS, 'osalNvWriteExt', { status: 0x0a });
      value.copy(item, offset);
      this.srsp(Subsystem.SYS, 'osalNvWriteExt', { status: 0 });
    },
    'SYS.osalNvDelete': (p) => {
      this.nv.delete(p.id as number);
      this.srsp(Subsystem.SYS, 'osalNvDelete', { status: 0 });
    },
    // Extended NV tables (address manager, link keys, …): this dongle has none, so backups list no devices.
    'SYS.nvLength': () => this.srsp(Subsystem.SYS, 'nvLength', { len: 0 }),
    'SYS.resetReq': () => this.reset(),
    'UTIL.getDeviceInfo': () =>
      this.srsp(Subsystem.UTIL, 'getDeviceInfo', {
        status: 0,
        ieeeaddr: this.ieee,
        shortaddr: 0,
        devicetype: 0x07,
        devicestate: this.devState,
        numassocdevices: 0,
        assocdeviceslist: [],
      }),
    'APP_CNF.bdbSetChannel': (p) => {
      if (p.isPrimary) this.primaryChannels = p.channel as number;
      this.srsp(Subsystem.APP_CNF, 'bdbSetChannel', { status: 0 });
    },
    'APP_CNF.bdbStartCommissioning': (p) => {
      this.srsp(Subsystem.APP_CNF, 'bdbStartCommissioning', { status: 0 });
      // Mode 0x04 = network formation.
      if (p.mode === 0x04) this.later(() => this.formNetwork());
    },
    'ZDO.startupFromApp': () => {
      this.srsp(Subsystem.ZDO, 'startupFromApp', { status: this.formed ? 0 : 1 });
      if (this.formed) this.later(() => this.becomeCoordinator());
    },
    'ZDO.extNwkInfo': () => {
      const nib = this.nib;
      this.srsp(Subsystem.ZDO, 'extNwkInfo', {
        shortaddr: 0,
        devstate: this.devState,
        panid: nib?.nwkPanId ?? 0xffff,
        parentaddr: 0,
        extendedpanid: nib ? `0x${Buffer.from(nib.extendedPANID).toString('hex')}` : '0x0000000000000000',
        parentextaddr: '0x0000000000000000',
        channel: nib?.nwkLogicalChannel ?? 0,
      });
    },
    'ZDO.extFindGroup': (p) => this.srsp(Subsystem.ZDO, 'extFindGroup', { status: 0, groupid: p.groupid, namelen: 0, groupname: Buffer.alloc(0) }),
    'ZDO.extRouteDisc': () => this.srsp(Subsystem.ZDO, 'extRouteDisc', { status: 0 }),
    'ZDO.mgmtPermitJoinReq': (_p, raw) => {
      // herdsman's layout: addrMode, dstaddr (u16), duration, TC significance.
      const request = { addrMode: raw[0], dstaddr: raw.readUInt16LE(1), duration: raw[3] };
      this.permitJoins.push(request);
      this.permitJoinUntil = request.duration === 0 ? 0 : Date.now() + request.duration * 1000;
      this.zdoStatus('mgmtPermitJoinReq');
    },
    'ZDO.activeEpReq': (_p, raw) => this.zdoRequest('activeEpReq', raw, (nwk) => this.activeEndpoints(nwk)),
    'ZDO.nodeDescReq': (_p, raw) => this.zdoRequest('nodeDescReq', raw, (nwk) => this.nodeDescriptor(nwk)),
    'ZDO.simpleDescReq': (_p, raw) => this.zdoRequest('simpleDescReq', raw, (nwk) => this.simpleDescriptor(nwk, raw[4])),
    'ZDO.nwkAddrReq': (_p, raw) => {
      const ieee = `0x${Buffer.from(raw.subarray(0, 8)).reverse().toString('hex')}`;
      this.zdoStatus('nwkAddrReq');
      const device = this.devices.find((d) => d.ieee === ieee && d.joined);
      if (!device) return;
      // ZNP's NWK_addr_rsp: status, IEEE, nwk, start index, count (no source address prefix).
      const rsp = Buffer.alloc(13);
      rsp[0] = 0;
      raw.copy(rsp, 1, 0, 8);
      rsp.writeUInt16LE(device.nwk, 9);
      this.later(() => this.sendRaw(Type.AREQ, Subsystem.ZDO, command(Subsystem.ZDO, 'nwkAddrRsp').ID, rsp));
    },
    // The coordinator's association table (its direct children), which herdsman rewrites to recover a sleepy child.
    'UTIL.assocGetWithAddress': (p) => {
      const index = this.devices.findIndex((d) => d.joined && d.associated && d.ieee === p.extaddr);
      const device = this.devices[index];
      this.srsp(Subsystem.UTIL, 'assocGetWithAddress', device ? { nwkaddr: device.nwk, addridx: index, noderelation: CHILD_RFD } : { nwkaddr: 0xfffe, addridx: 0xffff, noderelation: 0xff });
    },
    'UTIL.assocRemove': (p) => {
      const device = this.devices.find((d) => d.ieee === p.ieeeadr);
      if (device) device.associated = false;
      this.srsp(Subsystem.UTIL, 'assocRemove', { status: device ? 0 : 1 });
    },
    'UTIL.assocAdd': (p) => {
      const device = this.devices.find((d) => d.ieee === p.ieeeadr);
      if (device) device.associated = true;
      this.srsp(Subsystem.UTIL, 'assocAdd', { status: device ? 0 : 1 });
    },
    'AF.register': (p) => {
      this.registered.set(p.endpoint as number, p);
      this.srsp(Subsystem.AF, 'register', { status: 0 });
    },
    'AF.dataRequest': (p) => this.dataRequest(p),
    // Broadcasts and groups (herdsman's Green Power commissioning on permit join): no confirmation awaited.
    'AF.dataRequestExt': () => this.srsp(Subsystem.AF, 'dataRequestExt', { status: 0 }),
  };

  private zdoStatus(name: string, status = 0): void {
    this.sendRaw(Type.SRSP, Subsystem.ZDO, command(Subsystem.ZDO, name).ID, Buffer.from([status]));
  }

  /** ZDO requests herdsman sends as `dst (u16), nwkAddrOfInterest (u16), …`; the response comes as an AREQ. */
  private zdoRequest(name: string, raw: Buffer, answer: (nwk: number) => { rsp: string; zdo: Buffer } | undefined): void {
    const dst = raw.readUInt16LE(0);
    const nwk = raw.readUInt16LE(2);
    const result = answer(nwk);
    if (!result) {
      this.problem(`SREQ ZDO ${name} for 0x${nwk.toString(16)}: no such node on the emulated air`);
      this.zdoStatus(name, ZDO_STATUS_DEVICE_NOT_FOUND);
      return;
    }
    this.zdoStatus(name);
    const data = Buffer.alloc(2 + result.zdo.length);
    data.writeUInt16LE(dst, 0);
    result.zdo.copy(data, 2);
    this.later(() => this.sendRaw(Type.AREQ, Subsystem.ZDO, command(Subsystem.ZDO, result.rsp).ID, data));
  }

  private activeEndpoints(nwk: number): { rsp: string; zdo: Buffer } | undefined {
    const eps = nwk === 0 ? [...this.registered.keys()] : this.joinedAt(nwk)?.spec.endpoints.map((e) => e.id);
    if (!eps) return undefined;
    return { rsp: 'activeEpRsp', zdo: Buffer.from([0, nwk & 0xff, nwk >> 8, eps.length, ...eps]) };
  }

  private nodeDescriptor(nwk: number): { rsp: string; zdo: Buffer } | undefined {
    const device = nwk === 0 ? undefined : this.joinedAt(nwk);
    if (nwk !== 0 && !device) return undefined;
    const zdo = Buffer.alloc(16);
    zdo[0] = 0;
    zdo.writeUInt16LE(nwk, 1);
    zdo[3] = device ? 0x02 : 0x00; // logical type: end device / coordinator
    zdo[4] = 0x40; // 2.4 GHz
    zdo[5] = device ? 0x80 : 0x8f; // MAC capabilities: allocate address (+ coordinator, mains, rx on idle)
    zdo.writeUInt16LE(device?.spec.manufacturerCode ?? 0xfff1, 6);
    zdo[8] = 80; // max buffer size
    zdo.writeUInt16LE(160, 9); // max incoming transfer
    zdo.writeUInt16LE(22 << 9, 11); // server mask: stack compliance revision 22
    zdo.writeUInt16LE(160, 13); // max outgoing transfer
    zdo[15] = 0;
    return { rsp: 'nodeDescRsp', zdo };
  }

  private simpleDescriptor(nwk: number, endpointId: number): { rsp: string; zdo: Buffer } | undefined {
    let ep: EmulatedEndpoint | undefined;
    if (nwk === 0) {
      const r = this.registered.get(endpointId);
      if (r) ep = { id: endpointId, profileId: r.appprofid as number, deviceId: r.appdeviceid as number, inClusters: r.appinclusterlist as number[], outClusters: r.appoutclusterlist as number[] };
    } else {
      ep = this.joinedAt(nwk)?.spec.endpoints.find((e) => e.id === endpointId);
    }
    if (!ep) return undefined;
    const body = [ep.id, ep.profileId & 0xff, ep.profileId >> 8, ep.deviceId & 0xff, ep.deviceId >> 8, 0, ep.inClusters.length];
    for (const c of ep.inClusters) body.push(c & 0xff, c >> 8);
    body.push(ep.outClusters.length);
    for (const c of ep.outClusters) body.push(c & 0xff, c >> 8);
    return { rsp: 'simpleDescRsp', zdo: Buffer.from([0, nwk & 0xff, nwk >> 8, body.length, ...body]) };
  }

  private joinedAt(nwk: number): ZnpDevice | undefined {
    return this.devices.find((d) => d.joined && d.nwk === nwk);
  }

  private dataRequest(p: Record<string, unknown>): void {
    const request: AfDataRequest = {
      dstaddr: p.dstaddr as number,
      destendpoint: p.destendpoint as number,
      srcendpoint: p.srcendpoint as number,
      clusterid: p.clusterid as number,
      transid: p.transid as number,
      options: p.options as number,
      radius: p.radius as number,
      data: Buffer.from(p.data as Buffer),
      confirmed: DataConfirmStatus.SUCCESS,
    };
    const device = this.joinedAt(request.dstaddr);
    const fault = this.confirmFaults.shift();
    // A device that is not there (left, or moved to another address) never acknowledges.
    request.confirmed = fault ?? (device ? DataConfirmStatus.SUCCESS : DataConfirmStatus.APS_NO_ACK);
    this.dataRequests.push(request);
    this.srsp(Subsystem.AF, 'dataRequest', { status: 0 });
    this.later(() => {
      this.send(Type.AREQ, Subsystem.AF, 'dataConfirm', { status: request.confirmed, endpoint: request.destendpoint, transid: request.transid });
      if (device && request.confirmed === DataConfirmStatus.SUCCESS) device.deliver(request);
    });
  }

  /** SYS_RESET_REQ: the firmware restarts, applying the startup option (bit 0 = factory config, bit 1 = clear network state). */
  private reset(): void {
    const option = this.nv.get(Nv.STARTUP_OPTION)?.[0] ?? 0;
    if (option & 0x01) this.factoryReset();
    if (option & 0x02) {
      for (const id of [Nv.NIB, Nv.NWK_ACTIVE_KEY_INFO, Nv.NWK_ALTERN_KEY_INFO]) this.nv.delete(id);
    }
    this.devState = DEV_STATE_HOLD;
    this.registered.clear();
    this.later(() => this.send(Type.AREQ, Subsystem.SYS, 'resetInd', { reason: 0, transportrev: 2, productid: 1, majorrel: 2, minorrel: 7, hwrev: 1 }), 10);
  }

  /** BDB formation from the commissioning NV items herdsman wrote: NIB, key info, then "coordinator started". */
  private formNetwork(): void {
    const panItem = this.nv.get(Nv.PANID);
    const extPanItem = this.nv.get(Nv.EXTENDED_PAN_ID);
    const key = this.nv.get(Nv.PRECFGKEY);
    const channel = lowestChannel(this.primaryChannels);
    if (!panItem || !extPanItem || !key || channel === undefined) {
      this.problem(`BDB formation without PAN id, extended PAN id, key or channel (NV 0x83/0x2D/0x62, bdbSetChannel)`);
      return;
    }
    const nib = Structs.nib();
    nib.nwkPanId = panItem.readUInt16LE(0);
    nib.nwkLogicalChannel = channel;
    nib.channelList = this.primaryChannels;
    // NV 0x2D holds the extended PAN id byte-reversed; the NIB struct reverses it back when serialized.
    nib.extendedPANID = Buffer.from(extPanItem).reverse();
    nib.nwkCoordExtAddress = Buffer.from(this.ieee.slice(2), 'hex');
    nib.nwkDevAddress = 0;
    nib.nwkState = 1;
    nib.SecurityLevel = 5;
    nib.nwkKeyLoaded = 1;
    this.nv.set(Nv.NIB, nib.serialize('aligned'));
    const keyInfo = Structs.nwkKeyDescriptor();
    keyInfo.keySeqNum = 0;
    keyInfo.key = Buffer.from(key.subarray(0, 16));
    this.nv.set(Nv.NWK_ACTIVE_KEY_INFO, keyInfo.serialize('aligned'));
    this.nv.set(Nv.NWK_ALTERN_KEY_INFO, keyInfo.serialize('aligned'));
    this.formations++;
    this.becomeCoordinator();
  }

  private becomeCoordinator(): void {
    this.devState = DEV_STATE_COORDINATOR;
    this.send(Type.AREQ, Subsystem.ZDO, 'stateChangeInd', { state: DEV_STATE_COORDINATOR });
  }

  // ---- the air: devices → host -------------------------------------------------------------------------

  /** A device joins through the coordinator: the trust centre indication, then its announcement. */
  joinIndication(device: ZnpDevice): void {
    this.send(Type.AREQ, Subsystem.ZDO, 'tcDeviceInd', { nwkaddr: device.nwk, extaddr: device.ieee, parentaddr: 0 });
    this.announce(device);
  }

  /** ZDO_END_DEVICE_ANNCE_IND: source, then the announcement (nwk, IEEE, capabilities). */
  announce(device: ZnpDevice): void {
    const data = Buffer.alloc(13);
    data.writeUInt16LE(device.nwk, 0);
    data.writeUInt16LE(device.nwk, 2);
    Buffer.from(device.ieee.slice(2), 'hex').reverse().copy(data, 4);
    data[12] = 0x80; // allocate address; an end device, not rx-on-when-idle
    this.sendRaw(Type.AREQ, Subsystem.ZDO, command(Subsystem.ZDO, 'endDeviceAnnceInd').ID, data);
  }

  incoming(device: ZnpDevice, srcEndpoint: number, dstEndpoint: number, clusterId: number, data: Buffer): void {
    this.send(Type.AREQ, Subsystem.AF, 'incomingMsg', {
      groupid: 0,
      clusterid: clusterId,
      srcaddr: device.nwk,
      srcendpoint: srcEndpoint,
      dstendpoint: dstEndpoint,
      wasbroadcast: 0,
      linkquality: 200,
      securityuse: 0,
      timestamp: ++this.timestamp,
      transseqnumber: 0,
      len: data.length,
      data,
    });
  }

  recordProblem(what: string): void {
    this.problem(what);
  }
}

function command(subsystem: number, name: string): CmdDef {
  const cmd = Definition[subsystem].find((c) => c.name === name);
  if (!cmd) throw new Error(`no ZNP command ${SUBSYSTEM_NAME[subsystem]} ${name}`);
  return cmd;
}

/** A zero of each ZNP parameter type (herdsman's ParameterType numbering). */
function emptyValue(parameterType: number): unknown {
  const sized: Record<number, number> = { 5: 8, 6: 16, 7: 18, 8: 32, 9: 42, 10: 100 };
  if (parameterType === 3) return '0x0000000000000000';
  if (parameterType === 4) return Buffer.alloc(0);
  if (sized[parameterType]) return Buffer.alloc(sized[parameterType]);
  if (parameterType === 11 || parameterType === 12 || parameterType === 16) return [];
  return 0;
}

function lowestChannel(mask: number): number | undefined {
  for (let ch = 11; ch <= 26; ch++) if (mask & (1 << ch)) return ch;
  return undefined;
}

export interface MqttSnZclOptions {
  clusterId: number;
  manufacturerCode: number;
  /** The device's endpoint hosting the cluster. */
  endpoint: number;
}

/** One ZCL frame of our cluster that reached the device, with where it came from. */
export interface ReceivedZcl {
  request: AfDataRequest;
  frameControl: number;
  manufacturerCode: number;
  commandId: number;
  frame: Buffer;
}

/**
 * An end device on the emulated air, speaking MQTT-SN in the manufacturer-specific cluster the README's
 * firmware contract describes: ZCL frame control 0x15 up, 0x1D down, command 0x00 with one octet string.
 */
export class ZnpDevice extends RadioSensor {
  readonly ieee: string;
  nwk: number;
  joined = false;
  /** In the coordinator's association table (a direct child). */
  associated = false;
  readonly zcl: ReceivedZcl[] = [];
  private tsn = 0;
  readonly mqttSn: MqttSnZclOptions;

  constructor(
    private readonly dongle: ZnpDongle,
    readonly spec: EmulatedDeviceSpec,
    mqttSn: Partial<MqttSnZclOptions> = {},
  ) {
    super();
    this.ieee = spec.ieee.toLowerCase();
    this.nwk = spec.nwk;
    this.mqttSn = { clusterId: 0xfc00, manufacturerCode: 0xfff1, endpoint: spec.endpoints[0]?.id ?? 1, ...mqttSn };
  }

  get address(): string {
    return `zigbee:${this.ieee}`;
  }

  /** Joins the network; the dongle lets it in only while joining is permitted. */
  join(): void {
    if (!this.dongle.joinPermitted) throw new Error(`${this.ieee} cannot join: the coordinator does not permit joining`);
    this.joined = true;
    this.associated = true;
    this.dongle.joinIndication(this);
  }

  /** Rejoins (e.g. after losing its parent) and is given a new network address. */
  rejoin(nwk: number): void {
    this.nwk = nwk;
    this.joined = true;
    this.associated = true;
    this.dongle.joinIndication(this);
  }

  send(message: SnMessage): void {
    this.sendFrame(encode(message));
  }

  sendFrame(frame: Buffer, manufacturerCode = this.mqttSn.manufacturerCode): void {
    this.tsn = (this.tsn + 1) & 0xff;
    const zcl = Buffer.from([0x15, manufacturerCode & 0xff, manufacturerCode >> 8, this.tsn, 0x00, frame.length, ...frame]);
    this.dongle.incoming(this, this.mqttSn.endpoint, 1, this.mqttSn.clusterId, zcl);
  }

  /** A confirmed AF_DATA_REQUEST reached this device. */
  deliver(request: AfDataRequest): void {
    const { data } = request;
    const frameControl = data[0];
    const manufacturerSpecific = (frameControl & 0x04) !== 0;
    if (request.clusterid === GEN_BASIC && this.spec.basic && (frameControl & 0x0f) === 0x00 && data[2] === ZCL_READ) {
      this.answerBasicRead(request);
      return;
    }
    if (request.clusterid !== this.mqttSn.clusterId || !manufacturerSpecific) {
      this.dongle.recordProblem(`AF_DATA_REQUEST to ${this.ieee} in cluster 0x${request.clusterid.toString(16)}: ${data.toString('hex')} (the emulated device speaks only MQTT-SN)`);
      return;
    }
    const received: ReceivedZcl = {
      request,
      frameControl,
      manufacturerCode: data.readUInt16LE(1),
      commandId: data[4],
      frame: Buffer.from(data.subarray(6, 6 + data[5])),
    };
    this.zcl.push(received);
    try {
      this.arrive(received.frame);
    } catch (error) {
      this.dongle.recordProblem(`${this.ieee} received a frame that is not MQTT-SN: ${received.frame.toString('hex')} (${(error as Error).message})`);
    }
  }

  /** ZCL Read Attributes Response (0x01) from the endpoint herdsman asked: id, status, then type and value when supported. */
  private answerBasicRead(request: AfDataRequest): void {
    const tsn = request.data[1];
    const out = [0x18, tsn, 0x01]; // global, server→client, no default response; readRsp
    for (let i = 3; i + 1 < request.data.length; i += 2) {
      const id = request.data.readUInt16LE(i);
      out.push(id & 0xff, id >> 8);
      const value = basicAttribute(this.spec.basic!, id);
      if (value) out.push(0x00, ...value);
      else out.push(0x86); // UNSUPPORTED_ATTRIBUTE
    }
    this.basicReads.push(...readAttributeIds(request.data));
    this.dongle.incoming(this, request.destendpoint, request.srcendpoint, GEN_BASIC, Buffer.from(out));
  }

  /** genBasic attribute ids herdsman read during the interview. */
  readonly basicReads: number[] = [];

  async close(): Promise<void> {}
}

const GEN_BASIC = 0x0000;
const ZCL_READ = 0x00;

function readAttributeIds(zcl: Buffer): number[] {
  const ids: number[] = [];
  for (let i = 3; i + 1 < zcl.length; i += 2) ids.push(zcl.readUInt16LE(i));
  return ids;
}

/** ZCL type byte and value of a genBasic attribute, or undefined when the device lacks it. */
function basicAttribute(basic: BasicAttributes, id: number): number[] | undefined {
  const string = (s: string | undefined) => (s === undefined ? undefined : [0x42, s.length, ...Buffer.from(s)]);
  switch (id) {
    case 0x0004:
      return string(basic.manufacturerName);
    case 0x0005:
      return string(basic.modelId);
    case 0x0007:
      return basic.powerSource === undefined ? undefined : [0x30, basic.powerSource];
    case 0x0000:
      return [0x20, 8]; // zclVersion 8
    default:
      return undefined;
  }
}

// ---- links ---------------------------------------------------------------------------------------------

/**
 * The dongle on a socat pseudo-terminal pair: the gateway opens `path` as it would /dev/ttyUSB0.
 * `unplug()` takes the pair (and so `path`) away as pulling a USB dongle does; `plugIn()` brings it back at the same path.
 */
export class PtyLink implements Link {
  private socat: ChildProcess | undefined;
  private port: SerialPort | undefined;
  readonly path: string;
  private readonly dongleEnd: string;

  private constructor(
    private readonly dongle: ZnpDongle,
    private readonly dir: string,
  ) {
    this.path = join(dir, 'ttyZNP');
    this.dongleEnd = join(dir, 'dongle');
  }

  static async open(dongle: ZnpDongle): Promise<PtyLink> {
    const link = new PtyLink(dongle, mkdtempSync(join(tmpdir(), 'znp-')));
    await link.plugIn();
    return link;
  }

  async plugIn(): Promise<void> {
    await this.release();
    const socat = spawn('socat', [`pty,raw,echo=0,link=${this.path}`, `pty,raw,echo=0,link=${this.dongleEnd}`], { stdio: 'ignore' });
    this.socat = socat;
    await until(() => existsSync(this.path) && existsSync(this.dongleEnd), WAIT_MS, () => 'socat pty links');
    // The dongle's end opens first, so it answers herdsman's first 250 ms ping at once.
    const port = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: this.dongleEnd, baudRate: 115200 }, (err) => (err ? reject(err) : resolve(p)));
    });
    this.port = port;
    port.on('data', (chunk: Buffer) => this.dongle.bytes(chunk));
    port.on('error', () => {});
    this.dongle.attach(this);
  }

  /**
   * The device node disappears and the dongle falls silent, as when it is pulled out. The pty pair itself
   * stays open until `plugIn()` or `close()`: whether a vanished pty also shows up as a read error or a close
   * on herdsman's side is up to timing, and the gateway must notice without either.
   */
  unplug(): void {
    this.dongle.detach(this);
    rmSync(this.path, { force: true });
    rmSync(this.dongleEnd, { force: true });
  }

  /** Ends socat and the dongle's end of the pair. */
  private async release(): Promise<void> {
    this.dongle.detach(this);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    const socat = this.socat;
    this.socat = undefined;
    if (socat && socat.exitCode === null) {
      await new Promise<void>((resolve) => {
        socat.once('exit', () => resolve());
        socat.kill('SIGTERM');
      });
    }
  }

  write(bytes: Buffer): void {
    if (this.port?.isOpen) this.port.write(bytes);
  }

  async close(): Promise<void> {
    await this.release();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The dongle behind a TCP socket on 127.0.0.1 (herdsman's `tcp://host:port`, as network-attached coordinators
 * are reached). `vanish()` drops the connection and refuses new ones until `comeBack()`.
 */
export class TcpLink {
  private socket: Socket | undefined;
  private vanished = false;
  /** Connections accepted, including those refused while vanished. */
  connections = 0;

  private constructor(
    private readonly dongle: ZnpDongle,
    private readonly server: Server,
    readonly port: number,
  ) {}

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  static async open(dongle: ZnpDongle): Promise<TcpLink> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const link = new TcpLink(dongle, server, port);
    server.on('connection', (socket) => link.accept(socket));
    return link;
  }

  private accept(socket: Socket): void {
    this.connections++;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    if (this.vanished) {
      socket.destroy();
      return;
    }
    this.socket?.destroy();
    this.socket = socket;
    const link: Link = { write: (bytes) => socket.write(bytes) };
    this.dongle.attach(link);
    socket.on('data', (chunk: Buffer) => this.dongle.bytes(chunk));
    socket.on('close', () => this.dongle.detach(link));
  }

  /** The dongle is unplugged (or its network bridge drops): the connection closes, new ones are refused. */
  vanish(): void {
    this.vanished = true;
    this.socket?.destroy();
    this.socket = undefined;
  }

  comeBack(): void {
    this.vanished = false;
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Decodes the MQTT-SN frame inside a ZCL frame of our cluster (for assertions on raw data requests). */
export function mqttSnInZcl(data: Buffer): SnMessage {
  return decode(Buffer.from(data.subarray(6, 6 + data[5])));
}
