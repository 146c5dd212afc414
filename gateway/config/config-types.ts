/** The validated shape of gateway.yaml, every default filled in. Loaded by gateway/config/config.ts. */
import type { RadioConfig } from '../../radios/index.js';

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
  /**
   * Seconds a CleanSession=0 session is kept after its client was lost or disconnected (like MQTT 5's
   * Session Expiry Interval); 0 = never expires.
   */
  sessionExpiry: number;
}

export interface TlsConfig { ca?: string; cert?: string; key?: string; rejectUnauthorized: boolean }

export interface BrokerSection {
  /** mqtt://, mqtts://, ws:// URL; undefined = start the embedded broker on `embedded`. */
  url?: string;
  /** aggregating: one connection for all sensors (§4); transparent: one per sensor. */
  mode: 'aggregating' | 'transparent';
  /** The gateway's own connection (aggregating mode; QoS -1 from unconnected sensors in transparent mode). */
  clientId: string;
  /** Transparent mode: put before each sensor's ClientId at the broker. */
  clientIdPrefix: string;
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
  embedded: { host: string; port: number; tcpNoDelay: boolean };
}

/** Each radio defines its own config type (radios/<kind>.ts); this module only assembles them. */
export type { RadioConfig };

export interface TopicsSection {
  /** Predefined topic ids known to every client: id → concrete topic name. */
  predefined: Map<number, string>;
  /** Per-client predefined ids, by ClientId; they override global ones with the same id. */
  clients: Map<string, { predefined: Map<number, string> }>;
}

/** The HTTP face: status page, /metrics, /healthz, /api (gateway/http/). */
export interface HttpSection {
  host: string;
  /** 0 = any free port (tests). */
  port: number;
}

/** Retained status topics on the broker (gateway/status/). */
export interface StatusSection {
  /** Topic prefix, ending in '/': `<prefix>status`, `<prefix>clients/<ClientId>`. */
  prefix: string;
}

export interface LogSection {
  level: 'error' | 'warn' | 'info' | 'debug';
  /** text: one human line per event; json: one JSON object per line (journald, Loki). */
  format: 'text' | 'json';
}

/** One access rule (`access.rules[]`): the first whose clientId and from match a client applies to it. */
export interface AccessRule {
  /** Exact ClientId or a glob (`*`, `?`). */
  clientId: string;
  /** Radio names or address globs (`udp:192.168.1.*`, `zigbee:*`); absent = from anywhere. */
  from?: string[];
  /** Topic filters it may publish to, `{clientId}` standing for its ClientId; absent = any topic. */
  publish?: string[];
  /** Topic filters it may subscribe within; absent = any. */
  subscribe?: string[];
}

export interface AccessSection {
  /** No rules = everyone may connect, publish and subscribe. */
  rules: AccessRule[];
  /** QoS -1 (§6.8) from senders that never connected; absent = refused when there are rules, allowed when not. */
  anonymous?: { from?: string[]; publish?: string[] };
}

/** Flood limits: what one sender or client may cost the gateway. */
export interface LimitsSection {
  /** Frames a second one sender address may send (token bucket refill); 0 = no limit. */
  frameRate: number;
  /** Frames one sender may send at once before frameRate applies. */
  frameBurst: number;
  /** Clients at most in the `connecting` state (will handshake, or waiting for the broker); beyond: CONNACK 0x01. */
  maxConnecting: number;
  /** Topic ids one client may register (REGISTER, SUBSCRIBE by name); beyond: REGACK / SUBACK 0x01. */
  maxTopicIdsPerClient: number;
  /** Subscriptions one client may hold; beyond: SUBACK 0x01. */
  maxSubscriptionsPerClient: number;
}

/** A sensor's own broker credentials (transparent mode), by ClientId; absent keys fall back to the broker section's. */
export interface ClientCredentials {
  username?: string;
  password?: string;
  /** Client certificate and key files for mqtts:// (together). */
  cert?: string;
  key?: string;
}

export interface GatewayConfig {
  gateway: GatewaySection;
  broker: BrokerSection;
  radios: RadioConfig[];
  topics: TopicsSection;
  access: AccessSection;
  limits: LimitsSection;
  clients: Map<string, ClientCredentials>;
  /** Directory for state the gateway keeps (sessions, Zigbee database, network key). */
  stateDir: string;
  /** Keep sessions that outlive their connection in `<stateDir>/sessions` across restarts. */
  persistence: boolean;
  /** Seconds between fsyncs of the session store; 0 = every commit is fsynced before its acknowledgement. */
  fsyncInterval: number;
  log: LogSection;
  /** false = no HTTP server. */
  http: HttpSection | false;
  /** false = no status topics (and no will on the gateway's broker connection). */
  status: StatusSection | false;
}
