/** The validated shape of gateway.yaml, every default filled in. Loaded by gateway/config.ts. */

export interface RetryConfig {
  /** Seconds before a gateway → client message that expects a reply is resent (§6.13 T_RETRY). */
  interval: number;
  /** Resends before the client counts as lost (§6.13 N_RETRY). */
  count: number;
}

export interface GatewaySection {
  /** GwId in ADVERTISE/GWINFO, 0..255. */
  id: number;
  /** Seconds between ADVERTISE broadcasts (§6.1 T_ADV); 0 turns advertising off. */
  advertiseInterval: number;
  /** A client silent for Duration × keepAliveGrace seconds is lost (§6.11). */
  keepAliveGrace: number;
  retry: RetryConfig;
  /** CONNECT beyond this many connected clients is answered CONNACK 0x01 (congestion). */
  maxClients: number;
  /** Broker messages buffered per sleeping client (§6.14). */
  sleepBuffer: number;
  /** Longest ClientId accepted; the spec says 23. */
  maxClientIdLength: number;
  /** Messages from clients (QoS 1/2) held for the broker while it is away or slow; past it: PUBACK 0x01. */
  maxOutgoingQueue: number;
  /** Messages (QoS 1/2) in flight from the gateway to one client at once. */
  maxInflightPerClient: number;
}

export interface TlsConfig { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean }

export interface BrokerSection {
  /** mqtt://, mqtts://, ws:// URL; undefined = start the embedded broker on `embedded`. */
  url?: string;
  mode: 'aggregating';
  clientId: string;
  username?: string;
  password?: string;
  tls?: TlsConfig;
  /** MQTT protocol version to speak to the broker. */
  protocolVersion: 4 | 5;
  keepalive: number;
  /** Seconds; reconnect backoff starts here, doubles up to reconnectMax. */
  reconnectMin: number;
  reconnectMax: number;
  /** Where the embedded broker listens when no url is given. */
  embedded: { host: string; port: number };
}

export interface UdpRadioConfig {
  type: 'udp';
  name: string;
  /** Address to bind; 127.0.0.1 by default (localhost only, like Mosquitto 2). '::1' / '::' for IPv6. */
  host: string;
  port: number;
  /** Where ADVERTISE/GWINFO broadcasts go; 127.255.255.255 by default (loopback). */
  broadcastAddress: string;
  broadcastPort: number;
  /** Bytes of kernel receive buffer asked for (SO_RCVBUF; capped by net.core.rmem_max); 0 = the kernel's default. */
  receiveBufferSize: number;
}

export interface SerialRadioConfig {
  type: 'serial';
  name: string;
  path: string;
  baudRate: number;
  framing: 'slip' | 'raw';
  /** raw framing: a gap this long (ms) between bytes resynchronises the stream. */
  interByteGapMs: number;
  maxFrameSize: number;
}

export interface XBeeRadioConfig {
  type: 'xbee';
  name: string;
  path: string;
  baudRate: number;
  apiMode: 1 | 2;
  maxFrameSize: number;
}

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

export type RadioConfig = UdpRadioConfig | SerialRadioConfig | XBeeRadioConfig | ZigbeeRadioConfig;

export interface TopicsSection {
  /** Predefined topic ids known to every client: id → concrete topic name. */
  predefined: Map<number, string>;
  /** Per-client predefined ids, by ClientId; they override global ones with the same id. */
  clients: Map<string, { predefined: Map<number, string> }>;
}

export interface GatewayConfig {
  gateway: GatewaySection;
  broker: BrokerSection;
  radios: RadioConfig[];
  topics: TopicsSection;
  /** Directory for state the gateway keeps (Zigbee database, network key). */
  stateDir: string;
  log: { level: 'error' | 'warn' | 'info' | 'debug' };
}
