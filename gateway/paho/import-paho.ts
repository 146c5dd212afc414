/**
 * `mqtt-sn-gateway import-paho gateway.conf`: turns an Eclipse Paho MQTT-SN gateway configuration (and
 * the predefined topic and client lists it points to) into the equivalent gateway.yaml. Each converted key
 * names the Paho setting it came from; every Paho setting without an equivalent here becomes a comment
 * saying why, so nothing is dropped silently.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { stringify } from 'yaml';
import { isTemplate } from '../core/topic-template.js';
import { COMMON_CLIENT, parseClientsList, parseGatewayConf, parsePredefinedTopics, type PahoSetting } from './paho-files.js';

export class PahoImportError extends Error {
  override readonly name = 'PahoImportError';
}

/** One converted key: its YAML value and the Paho setting(s) it came from. */
interface Converted { value: unknown; from: string }

/** Paho settings that mean the same under several spellings across its releases. */
const ALIASES: Record<string, string[]> = {
  AggregatingGateway: ['AggregatingGateway', 'AggregateGateway'],
  ClientAuthentication: ['ClientAuthentication', 'ClientAuthorization'],
  CertsKey: ['CertsKey', 'CertKey', 'CertsFile'],
  SharedMemory: ['ShearedMemory', 'SharedMemory'],
};

const IPV6_KEYS = ['GatewayIPv6PortNo', 'MulticastIPv6PortNo', 'MulticastIPv6', 'MulticastIPv6If', 'MulticastHops', 'GatewayUDP6Bind', 'GatewayUDP6Port', 'GatewayUDP6Broadcast', 'GatewayUDP6If', 'GatewayUDP6Hops'];
const LORALINK_KEYS = ['BaudrateLoRaLink', 'DeviceRxLoRaLink', 'DeviceTxLoRaLink'];
const DEFAULT_CLIENT_ID_LENGTH = 23;

export function importPaho(confPath: string): string {
  return new PahoImport(confPath).toYaml();
}

class PahoImport {
  private readonly settings = new Map<string, PahoSetting>();
  private readonly used = new Set<string>();
  /** `Paho Key=Value (line n): why it is not converted`, one per setting without an equivalent. */
  private readonly notes: string[] = [];
  private readonly gateway = new Map<string, Converted>();
  private readonly broker = new Map<string, Converted>();
  private readonly udp = new Map<string, Converted>();
  private readonly multicast = new Map<string, Converted>();
  private readonly xbee = new Map<string, Converted>();
  private readonly predefined = new Map<number, Converted>();
  private readonly perClient = new Map<string, Map<number, Converted>>();
  private readonly baseDir: string;
  private readonly rules: { clientId: string; from: string | undefined; comment: string }[] = [];
  /** Addresses of clients listed with QoS-1: they may publish at QoS -1 without connecting. */
  private readonly anonymousFrom: string[] = [];
  private accessFrom = '';
  /** Where the topics came from, for the comment on `topics:`. */
  private topicsFrom = '';

  constructor(private readonly confPath: string) {
    this.baseDir = dirname(resolve(confPath));
    // Paho reads the last of a repeated key; so does the Map.
    for (const setting of parseGatewayConf(readText(confPath, 'the Paho configuration'))) this.settings.set(setting.key, setting);
    this.convertGateway();
    this.convertBroker();
    this.convertRadios();
    this.convertLists();
    for (const setting of this.settings.values()) {
      if (!this.used.has(setting.key)) this.note(setting, 'not a Paho setting this importer knows; not converted');
    }
  }

  /** The setting under any of its spellings; marks it handled. */
  private take(name: string): PahoSetting | undefined {
    let found: PahoSetting | undefined;
    for (const key of ALIASES[name] ?? [name]) {
      const setting = this.settings.get(key);
      if (setting) {
        this.used.add(key);
        found = setting;
      }
    }
    return found;
  }

  private note(setting: PahoSetting, why: string): void {
    this.notes.push(`Paho ${setting.key}=${setting.value} (line ${setting.line}): ${why}`);
  }

  private integer(name: string, min: number, max: number, into: Map<string, Converted>, key: string, what = `Paho ${name}`): void {
    const setting = this.take(name);
    if (!setting) return;
    const n = /^\d+$/.test(setting.value) ? Number(setting.value) : NaN;
    if (n >= min && n <= max) into.set(key, { value: n, from: what });
    else this.note(setting, `must be an integer ${min}..${max} here; not converted`);
  }

  private convertGateway(): void {
    this.integer('GatewayID', 0, 255, this.gateway, 'id');
    this.integer('KeepAlive', 0, 65535, this.gateway, 'advertiseInterval', "Paho KeepAlive: Paho's ADVERTISE interval");
    this.integer('MaxNumberOfClients', 1, Number.MAX_SAFE_INTEGER, this.gateway, 'maxClients');
    const name = this.take('GatewayName');
    if (name) this.note(name, `no MQTT-SN equivalent: ADVERTISE and GWINFO carry only the GwId. To name the broker connection after it, set broker.clientId: ${scalar(name.value)}`);
  }

  private convertBroker(): void {
    const host = this.take('BrokerName');
    const port = this.take('BrokerPortNo');
    const secure = this.take('SecureConnection');
    const tls = secure?.value.toUpperCase() === 'YES';
    if (host) {
      const portText = port && /^\d+$/.test(port.value) ? port.value : tls ? '8883' : '1883';
      const hostText = host.value.includes(':') ? `[${host.value}]` : host.value;
      const from = ['BrokerName', port && 'BrokerPortNo', secure && 'SecureConnection'].filter(Boolean).join(' + ');
      this.broker.set('url', { value: `${tls ? 'mqtts' : 'mqtt'}://${hostText}:${portText}`, from: `Paho ${from}` });
    } else {
      if (port) this.note(port, 'no BrokerName to go with it; without broker.url this gateway starts its own embedded broker');
      if (secure) this.note(secure, 'no BrokerName to go with it');
    }
    const user = this.take('LoginID');
    if (user) this.broker.set('username', { value: user.value, from: 'Paho LoginID' });
    const password = this.take('Password');
    if (password) this.broker.set('password', { value: password.value, from: 'Paho Password' });

    // Paho is transparent unless AggregatingGateway=YES: one broker connection per client.
    const aggregating = this.take('AggregatingGateway');
    const aggregate = aggregating?.value.toUpperCase() === 'YES';
    this.broker.set('mode', {
      value: aggregate ? 'aggregating' : 'transparent',
      from: aggregating ? `Paho ${aggregating.key}=${aggregating.value}` : "Paho's default: transparent",
    });
    const securePort = this.take('BrokerSecurePortNo');
    if (securePort) this.note(securePort, `Paho uses it for clients marked secureConnection in its client list; this gateway has one broker connection: for TLS set broker.url: mqtts://${host?.value ?? '<broker>'}:${securePort.value}`);
    const ca = this.take('RootCAfile');
    if (ca) this.note(ca, `only for Paho's TLS connections; with an mqtts:// broker.url set broker.tls.ca: ${scalar(ca.value)}`);
    const caPath = this.take('RootCApath');
    if (caPath) this.note(caPath, 'no equivalent: broker.tls.ca takes one file; without it the system CAs are trusted');
    const cert = this.take('CertsKey');
    if (cert) this.note(cert, `only for Paho's TLS connections; with an mqtts:// broker.url set broker.tls.cert: ${scalar(cert.value)}`);
    const key = this.take('PrivateKey');
    if (key) this.note(key, `only for Paho's TLS connections; with an mqtts:// broker.url set broker.tls.key: ${scalar(key.value)}`);
  }

  private convertRadios(): void {
    // Paho binds its UDP port on every interface.
    this.udp.set('host', { value: '0.0.0.0', from: 'Paho listens on every interface' });
    this.integer('GatewayPortNo', 1, 65535, this.udp, 'port');
    // Paho discovers over a multicast group: SEARCHGW is heard there, ADVERTISE and GWINFO are sent there.
    const group = this.take('MulticastIP');
    if (group) {
      if (isMulticastV4(group.value)) this.multicast.set('group', { value: group.value, from: 'Paho MulticastIP' });
      else this.note(group, 'not an IPv4 multicast group (224.0.0.0 to 239.255.255.255); not converted');
    }
    this.integer('MulticastPortNo', 1, 65535, this.multicast, 'port');
    this.integer('MulticastTTL', 0, 255, this.multicast, 'ttl');
    for (const name of IPV6_KEYS) {
      const setting = this.take(name);
      if (setting) this.note(setting, "Paho's UDP6 build; for IPv6 give the udp radio host: '::' (not converted)");
    }
    for (const name of ['DtlsCertsKey', 'DtlsPrivKey']) {
      const setting = this.take(name);
      if (setting) this.note(setting, 'no equivalent: DTLS is not supported yet');
    }
    // Which sensor network Paho uses is chosen when it is built, not in gateway.conf: the XBee radio is offered commented out.
    const device = this.take('SerialDevice');
    if (device) this.xbee.set('path', { value: device.value, from: 'Paho SerialDevice' });
    this.integer('Baudrate', 1, Number.MAX_SAFE_INTEGER, this.xbee, 'baudRate');
    this.integer('ApiMode', 1, 2, this.xbee, 'apiMode');
    for (const name of [...LORALINK_KEYS, 'RFCOMMAddress']) {
      const setting = this.take(name);
      if (setting) this.note(setting, 'no equivalent: LoRaLink and Bluetooth RFCOMM radios are not supported');
    }
    const shared = this.take('SharedMemory');
    if (shared) this.note(shared, 'no equivalent: logs go to stderr (journald under systemd), one line per event');
  }

  private convertLists(): void {
    const predefinedOn = this.take('PredefinedTopic');
    const predefinedList = this.take('PredefinedTopicList');
    // Older Paho releases have no PredefinedTopic switch and read the list whenever it is given.
    const readPredefined = predefinedOn ? predefinedOn.value.toUpperCase() === 'YES' : predefinedList !== undefined;
    if (predefinedList && !readPredefined) this.note(predefinedList, 'Paho reads it only with PredefinedTopic=YES; not converted');
    if (predefinedOn && readPredefined && !predefinedList) this.note(predefinedOn, 'no PredefinedTopicList given; nothing to convert');
    if (predefinedList && readPredefined) {
      this.topicsFrom = [predefinedOn && `Paho PredefinedTopic=${predefinedOn.value}`, `PredefinedTopicList=${predefinedList.value}`].filter(Boolean).join(', ');
      this.convertPredefined(predefinedList);
    }

    const auth = this.take('ClientAuthentication');
    const clients = this.take('ClientsList');
    const authenticate = auth?.value.toUpperCase() === 'YES';
    if (authenticate && !clients) this.note(auth!, 'no ClientsList given; nothing to convert');
    if (clients && !authenticate) this.note(clients, 'Paho checks it only with ClientAuthentication=YES; not converted');
    if (clients && authenticate) this.convertClients(auth!, clients);

    const qosMinusOne = this.take('QoS-1');
    if (qosMinusOne) this.note(qosMinusOne, 'nothing to set: QoS -1 PUBLISH is always accepted on predefined ids and short topic names (§6.8)');
    for (const name of ['QoS-1ClientsList', 'QoS-1ProxyName', 'OoS-1ProxyName']) {
      const setting = this.take(name);
      if (setting) this.note(setting, 'nothing to set: QoS -1 senders need no list here');
    }
    const forwarder = this.take('Forwarder');
    if (forwarder) this.note(forwarder, 'nothing to set: forwarder encapsulation (§5.5) is always accepted');
    const forwarders = this.take('ForwardersList');
    if (forwarders) this.note(forwarders, 'nothing to set: forwarders need no list here');
  }

  private convertPredefined(list: PahoSetting): void {
    const path = resolve(this.baseDir, list.value);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      this.note(list, `cannot read ${path} (${(err as Error).message}); its topics are not converted`);
      return;
    }
    for (const entry of parsePredefinedTopics(text)) {
      const skip = (why: string) => this.notes.push(`Paho ${list.value}, line ${entry.line} "${entry.clientId},${entry.topic},${entry.id}": ${why}; not converted`);
      const id = /^\d+$/.test(entry.id) ? Number(entry.id) : NaN;
      if (!(id >= 1 && id <= 65534)) { skip('a topic id must be an integer 1..65534'); continue; }
      if (/[+#]/.test(entry.topic) || entry.topic === '') { skip('a predefined topic must be a concrete name, without + or #'); continue; }
      if (isTemplate(entry.topic)) { skip('{…} in a topic here is a template placeholder'); continue; }
      const scope = COMMON_CLIENT.has(entry.clientId) ? this.predefined : this.scopeOf(entry.clientId);
      if (scope.has(id)) { skip(`topic id ${id} is already given for ${COMMON_CLIENT.has(entry.clientId) ? 'every client' : entry.clientId}`); continue; }
      scope.set(id, { value: entry.topic, from: `Paho ${list.value}, line ${entry.line}` });
    }
    const longest = Math.max(0, ...[...this.perClient.keys()].map((id) => id.length));
    if (longest > DEFAULT_CLIENT_ID_LENGTH) {
      this.gateway.set('maxClientIdLength', { value: longest, from: 'the longest ClientId in the Paho predefined topic list' });
    }
  }

  private scopeOf(clientId: string): Map<number, Converted> {
    let scope = this.perClient.get(clientId);
    if (!scope) this.perClient.set(clientId, (scope = new Map()));
    return scope;
  }

  /** ClientAuthentication=YES: only the listed clients, from their listed addresses, may connect (access rules). */
  private convertClients(auth: PahoSetting, list: PahoSetting): void {
    const path = resolve(this.baseDir, list.value);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      this.note(list, `cannot read ${path} (${(err as Error).message}); without it every client may connect`);
      return;
    }
    this.accessFrom = `Paho ${auth.key}=${auth.value}, ClientsList=${list.value}`;
    for (const c of parseClientsList(text)) {
      const where = `Paho ${list.value}, line ${c.line}`;
      const address = sensorNetAddress(c.address);
      if (address === undefined) this.notes.push(`${where} "${c.clientId},${c.address}": an address this importer cannot name; the rule admits the ClientId from anywhere`);
      this.rules.push({ clientId: c.clientId, from: address, comment: where });
      if (c.flags.includes('QoS-1') && address !== undefined) this.anonymousFrom.push(address);
      for (const flag of c.flags.filter((f) => f !== 'QoS-1')) {
        const why = flag === 'secureConnection' ? 'TLS is per broker connection here (broker.url mqtts://, or clients.<ClientId>.cert/key in transparent mode)'
          : flag === 'forwarder' ? 'forwarders need no list here (§5.5)'
          : flag === 'unstableLine' ? 'no equivalent: retries follow gateway.retry for every client'
          : 'unknown flag';
        this.notes.push(`${where}: ${c.clientId} ${flag}: ${why}`);
      }
    }
  }

  toYaml(): string {
    const out: string[] = [
      `# Converted from the Paho MQTT-SN gateway configuration ${this.confPath} by \`mqtt-sn-gateway import-paho\`.`,
      '# Each key names the Paho setting it came from; Paho settings without an equivalent are listed at the end.',
      '# Check it before use:  mqtt-sn-gateway --config gateway.yaml --check',
      '',
    ];
    section(out, 'gateway', this.gateway);
    section(out, 'broker', this.broker);
    out.push('radios:');
    out.push('  - type: udp');
    for (const [key, c] of this.udp) out.push(`    ${key}: ${scalar(c.value)}  # ${c.from}`);
    if (this.multicast.size > 0) {
      out.push('    multicast:  # discovery as Paho does it: SEARCHGW heard on the group, ADVERTISE and GWINFO sent there');
      for (const [key, c] of this.multicast) out.push(`      ${key}: ${scalar(c.value)}  # ${c.from}`);
    }
    if (this.xbee.size > 0) {
      out.push('  # Paho builds one sensor network (make SENSORNET=…); if yours was XBee, use this radio instead of udp:');
      out.push('  # - type: xbee');
      for (const [key, c] of this.xbee) out.push(`  #   ${key}: ${scalar(c.value)}  # ${c.from}`);
    }
    out.push('');
    if (this.predefined.size > 0 || this.perClient.size > 0) {
      out.push(`topics:  # ${this.topicsFrom}`);
      if (this.predefined.size > 0) {
        out.push('  predefined:');
        for (const [id, c] of this.predefined) out.push(`    ${id}: ${scalar(c.value)}  # ${c.from}`);
      }
      if (this.perClient.size > 0) {
        out.push('  clients:');
        for (const [clientId, scope] of this.perClient) {
          out.push(`    ${scalar(clientId)}:`, '      predefined:');
          for (const [id, c] of scope) out.push(`        ${id}: ${scalar(c.value)}  # ${c.from}`);
        }
      }
      out.push('');
    }
    if (this.rules.length > 0) {
      out.push(`access:  # ${this.accessFrom}: only these clients, from these addresses`);
      out.push('  rules:');
      for (const rule of this.rules) {
        out.push(`    - clientId: ${scalar(rule.clientId)}  # ${rule.comment}`);
        if (rule.from !== undefined) out.push(`      from: [${scalar(rule.from)}]`);
      }
      if (this.anonymousFrom.length > 0) {
        out.push('  anonymous:  # the clients listed with QoS-1 may publish at QoS -1 without connecting');
        out.push(`    from: [${this.anonymousFrom.map(scalar).join(', ')}]`);
      }
      out.push('');
    }
    if (this.notes.length > 0) {
      out.push('# Paho settings with no equivalent here (not converted):');
      for (const note of this.notes) out.push(`#   ${note}`);
    }
    return out.join('\n') + '\n';
  }
}

function section(out: string[], name: string, entries: Map<string, Converted>): void {
  if (entries.size === 0) return;
  out.push(`${name}:`);
  for (const [key, c] of entries) out.push(`  ${key}: ${scalar(c.value)}  # ${c.from}`);
  out.push('');
}

/** A YAML scalar, quoted where YAML would read it otherwise (`yes`, `1234` as a password, `a: b`). */
function scalar(value: unknown): string {
  return stringify(value).trimEnd();
}

/** Paho's SensorNetAddress as this gateway names it: `ip:port` (UDP) or a 64-bit XBee address; undefined otherwise. */
function sensorNetAddress(address: string): string | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(address)) return `udp:${address}`;
  if (/^(0x)?[0-9a-f]{16}$/i.test(address)) return `xbee:${address.replace(/^0x/i, '').toLowerCase()}`;
  return undefined;
}

function isMulticastV4(address: string): boolean {
  const octets = address.split('.');
  return octets.length === 4 && octets.every((o) => /^\d{1,3}$/.test(o) && Number(o) <= 255) && Number(octets[0]) >= 224 && Number(octets[0]) <= 239;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new PahoImportError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}
