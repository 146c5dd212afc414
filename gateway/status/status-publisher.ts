/**
 * Retained status topics on the broker, so Home Assistant or Node-RED can show the fleet from the broker
 * alone: `<prefix>clients/<ClientId>` = a small JSON of the sensor's state, published on every state
 * change and cleared (empty retained message) when the gateway forgets the session. `<prefix>status`
 * (online/offline) is the upstream connection's own: it needs the MQTT will (broker/mqtt-upstream.ts).
 */
import type { GatewayCore } from '../core/core.js';
import type { Upstream } from '../broker/upstream.js';
import { clientView } from './client-view.js';

/** The status topic of the gateway itself. */
export function gatewayStatusTopic(prefix: string): string {
  return `${prefix}status`;
}

/**
 * A ClientId may hold characters a topic level cannot ('+', '#', NUL) or that would split it ('/'):
 * those, and '%' itself, are percent-encoded, so every ClientId gets exactly one topic level.
 */
export function clientStatusTopic(prefix: string, clientId: string): string {
  const level = clientId.replace(/[%+#/\u0000]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return `${prefix}clients/${level}`;
}

/** The fields published per client: what a dashboard shows, not the gateway's internals. */
export function clientStatusPayload(core: GatewayCore, clientId: string): string | undefined {
  const info = core.client(clientId);
  if (!info) return undefined;
  const { state, radio, address, nodeId, lastSeen, keepAlive, buffered, dropped } = clientView(info, core.clock);
  return JSON.stringify({ clientId, state, radio, address, ...(nodeId !== undefined && { nodeId }), lastSeen, keepAlive, buffered, dropped });
}

export class StatusPublisher {
  /** ClientIds whose state changed since the last flush: several changes in one turn publish once. */
  private readonly dirty = new Set<string>();
  private flushScheduled = false;
  private readonly onChange = (clientId: string): void => this.markDirty(clientId);
  private readonly onBroker = (up: boolean): void => {
    // A broker restarted without persistence has lost the retained states: publish them all again.
    if (up) for (const info of this.core.clients()) this.markDirty(info.clientId);
  };

  constructor(
    private readonly core: GatewayCore,
    private readonly upstream: Upstream,
    readonly prefix: string,
  ) {}

  start(): void {
    this.core.events.on('clientState', this.onChange);
    this.core.events.on('clientForgotten', this.onChange);
    this.core.events.on('brokerConnection', this.onBroker);
  }

  stop(): void {
    this.core.events.off('clientState', this.onChange);
    this.core.events.off('clientForgotten', this.onChange);
    this.core.events.off('brokerConnection', this.onBroker);
  }

  private markDirty(clientId: string): void {
    this.dirty.add(clientId);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Publishes the current state of every changed client; a forgotten one gets an empty retained message. */
  private flush(): void {
    this.flushScheduled = false;
    for (const clientId of this.dirty) {
      const payload = clientStatusPayload(this.core, clientId) ?? '';
      // QoS 0: the latest state supersedes any lost one, and status must not take sensors' queue space.
      const taken = this.upstream.publish(clientStatusTopic(this.prefix, clientId), Buffer.from(payload), 0, true);
      if (!taken) this.core.log('debug', `status: ${clientId}'s state not published: the broker queue is full`);
    }
    this.dirty.clear();
  }
}
