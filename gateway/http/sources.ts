/** What the HTTP face reads: the core's state and events, the radios, and the broker link. */
import type { Radio } from '../../radios/radio.js';
import type { GatewayCore } from '../core/core.js';

export interface BrokerLink {
  readonly url: string;
  readonly connected: boolean;
  /** Messages accepted for the broker, not yet acknowledged. */
  readonly pending: number;
  /** Times the connection came up, the first one included. */
  readonly connections: number;
}

export interface HttpSources {
  gatewayId: number;
  core: GatewayCore;
  radios: readonly Radio[];
  broker: BrokerLink;
  /** The embedded broker, when the gateway runs one (no `broker.url`). */
  embeddedBroker?: { readonly acknowledgedEarly: number };
  /** Lets /metrics observe the broker's acknowledgement latency (seconds). */
  observeAcknowledgements(observe: (seconds: number) => void): void;
  /** Re-reads the configuration (`POST /api/reload`); absent where the gateway cannot reload. */
  reload?: () => Promise<ReloadOutcome>;
}

/** What `POST /api/reload` answers, as JSON: `ok` false when the file was refused (its errors listed). */
export interface ReloadOutcome {
  ok: boolean;
  [detail: string]: unknown;
}
