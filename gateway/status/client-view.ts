/**
 * A client as the outside world sees it (status topics, /api/clients, the status page): the core's
 * ClientInfo with its times turned from the core's clock into wall-clock ISO strings.
 */
import type { Clock } from '../core/clock.js';
import type { ClientInfo } from '../core/core.js';

/** ClientInfo with its times as the outside world reads them, and no nodeId key when there is none. */
export type ClientView = Omit<ClientInfo, 'lastSeen' | 'nodeId'> & {
  /** §5.5 Wireless Node Id (hex) when the client sits behind a forwarder. */
  nodeId?: string;
  /** ISO time of the client's latest frame. */
  lastSeen: string;
  /** Seconds since then, by the gateway's clock. */
  lastSeenAgo: number;
};

export function clientView(info: ClientInfo, clock: Clock, wallNow = Date.now()): ClientView {
  // The core's clock may not be the wall clock (tests drive a manual one): convert through "how long ago".
  const agoMs = Math.max(0, clock.now() - info.lastSeen);
  const view: ClientView = {
    clientId: info.clientId,
    state: info.state,
    radio: info.radio,
    address: info.address,
    lastSeen: new Date(wallNow - agoMs).toISOString(),
    lastSeenAgo: Math.round(agoMs / 1000),
    keepAlive: info.keepAlive,
    buffered: info.buffered,
    inflight: info.inflight,
    dropped: info.dropped,
    subscriptions: info.subscriptions,
    hasWill: info.hasWill,
  };
  if (info.nodeId !== undefined) view.nodeId = info.nodeId;
  return view;
}
