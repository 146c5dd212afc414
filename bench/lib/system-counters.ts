/**
 * What the gateway's process reads about the machine around a measuring window (Linux /proc):
 * CPU time of this process and of the Mosquitto it started, and the kernel's count of UDP datagrams
 * dropped because a receive buffer was full (a reader too slow), to tell them from losses elsewhere.
 * The counter is per network namespace: other UDP traffic on the machine would show in it too.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports per-process CPU in clock ticks of 1/100 s on every common configuration (getconf CLK_TCK). */
const TICKS_PER_SECOND = 100;

export interface Counters {
  at: number;
  /** CPU ms of this process (the gateway). */
  selfCpuMs: number;
  /** Of selfCpuMs, user space. */
  selfUserMs: number;
  /** CPU ms of the Mosquitto child, when found. */
  brokerCpuMs: number | undefined;
  /** Udp RcvbufErrors for this network namespace: datagrams dropped because a socket's receive buffer was full. */
  udpDrops: number | undefined;
}

export interface WindowFigures {
  seconds: number;
  /** CPU ms used over the window. */
  gatewayCpuMs: number;
  /** Of gatewayCpuMs, the part in user space (JavaScript, V8, libuv); the rest is the kernel's (system calls). */
  gatewayUserMs: number;
  brokerCpuMs: number | undefined;
  udpDrops: number | undefined;
}

/** The pid of a direct child of this process running `command` (e.g. the Mosquitto startMosquitto() spawned). */
export function findChildPid(command: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.command === command && stat.ppid === process.pid) return Number(entry);
  }
  return undefined;
}

export function sample(brokerPid: number | undefined): Counters {
  const cpu = process.cpuUsage();
  const broker = brokerPid === undefined ? undefined : readStat(brokerPid);
  return {
    at: performance.now(),
    selfCpuMs: (cpu.user + cpu.system) / 1000,
    selfUserMs: cpu.user / 1000,
    brokerCpuMs: broker && ((broker.utime + broker.stime) * 1000) / TICKS_PER_SECOND,
    udpDrops: readUdpDrops(),
  };
}

export function between(start: Counters, end: Counters): WindowFigures {
  return {
    seconds: (end.at - start.at) / 1000,
    gatewayCpuMs: end.selfCpuMs - start.selfCpuMs,
    gatewayUserMs: end.selfUserMs - start.selfUserMs,
    brokerCpuMs: start.brokerCpuMs === undefined || end.brokerCpuMs === undefined ? undefined : end.brokerCpuMs - start.brokerCpuMs,
    udpDrops: start.udpDrops === undefined || end.udpDrops === undefined ? undefined : end.udpDrops - start.udpDrops,
  };
}

interface Stat { command: string; ppid: number; utime: number; stime: number }

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces, so split after the last ')'.
  const close = text.lastIndexOf(')');
  const command = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is state (field 3); utime and stime are fields 14 and 15.
  return { command, ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

function readUdpDrops(): number | undefined {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp: '));
    const names = lines[0].split(' ');
    const values = lines[1].split(' ').map(Number);
    // InErrors counts these too (and checksum errors); RcvbufErrors alone is the slow-reader case.
    return values[names.indexOf('RcvbufErrors')];
  } catch {
    return undefined;
  }
}
