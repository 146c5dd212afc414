/**
 * Server-sent events for the status page (`GET /events`): a full snapshot when a page connects and
 * every few seconds (counters, last-seen times), and each client's new state as soon as it changes.
 * Changes within one event-loop turn are sent once. Nothing runs while no page is open.
 */
import type { ServerResponse } from 'node:http';
import { clientView } from '../status/client-view.js';
import { radioViews, snapshot } from './snapshot.js';
import type { HttpSources } from './sources.js';

const SNAPSHOT_EVERY_MS = 5000;

export class LiveUpdates {
  private readonly pages = new Set<ServerResponse>();
  private readonly changed = new Set<string>();
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange = (clientId: string): void => {
    if (this.pages.size === 0) return;
    this.changed.add(clientId);
    this.scheduleFlush();
  };
  private readonly onBroker = (): void => {
    if (this.pages.size > 0) this.broadcast('snapshot', snapshot(this.sources));
  };

  constructor(private readonly sources: HttpSources) {
    sources.core.events.on('clientState', this.onChange);
    sources.core.events.on('clientForgotten', this.onChange);
    sources.core.events.on('brokerConnection', this.onBroker);
  }

  /** Turns a request into an event stream. */
  open(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    // Tells the browser how soon to reconnect if the gateway restarts.
    res.write('retry: 2000\n\n');
    this.pages.add(res);
    res.on('close', () => {
      this.pages.delete(res);
      if (this.pages.size === 0) this.stopTimer();
    });
    this.send(res, 'snapshot', snapshot(this.sources));
    this.timer ??= setInterval(() => this.broadcast('snapshot', snapshot(this.sources)), SNAPSHOT_EVERY_MS).unref();
  }

  close(): void {
    const core = this.sources.core;
    core.events.off('clientState', this.onChange);
    core.events.off('clientForgotten', this.onChange);
    core.events.off('brokerConnection', this.onBroker);
    this.stopTimer();
    for (const res of this.pages) res.end();
    this.pages.clear();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const core = this.sources.core;
      const now = Date.now();
      const clients = [];
      const forgotten = [];
      for (const id of this.changed) {
        const info = core.client(id);
        if (info) clients.push(clientView(info, core.clock, now));
        else forgotten.push(id);
      }
      this.changed.clear();
      this.broadcast('clients', { clients, forgotten, radios: radioViews(this.sources) });
    });
  }

  private broadcast(event: string, data: unknown): void {
    for (const res of this.pages) this.send(res, event, data);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
