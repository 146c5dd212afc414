/**
 * The gateway's HTTP face (node:http, no framework): `/` the status page, `/events` its live updates,
 * `/metrics` for Prometheus, `/healthz` for systemd/monitors, `/api/status`, `/api/clients` and
 * `/api/clients/<ClientId>` as JSON. Read-only, but for `POST /api/reload`, which only a client on this
 * machine (a loopback address) may send.
 *
 * If the port cannot be had, the gateway logs it and carries on serving sensors: the sensors matter
 * more than the page, and a gateway left alone for months must not stay down for a clash on 8080.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { LogLevel } from '../../radios/radio.js';
import { clientView } from '../status/client-view.js';
import type { HttpSection } from '../config/config-types.js';
import { LiveUpdates } from './live-updates.js';
import { createMetrics, type GatewayMetrics } from './metrics.js';
import { clientViews, healthProblems, snapshot } from './snapshot.js';
import type { HttpSources } from './sources.js';

/** 127.0.0.0/8, ::1, and IPv4 loopback seen through an IPv6 socket. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/** The status page's files, read once: no build step, no CDN, all served from here. */
const PUBLIC_DIR = join(import.meta.dirname, 'public');
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; frame-ancestors 'none'",
};

export class HttpServer {
  private server: Server | undefined;
  private readonly metrics: GatewayMetrics;
  private readonly live: LiveUpdates;
  private readonly files = new Map<string, Buffer>();

  constructor(
    private readonly sources: HttpSources,
    private readonly log: (level: LogLevel, message: string) => void,
  ) {
    this.metrics = createMetrics(sources);
    this.live = new LiveUpdates(sources);
    for (const { file } of Object.values(STATIC_FILES)) this.files.set(file, readFileSync(join(PUBLIC_DIR, file)));
  }

  /** The URL it listens on, once listening; undefined when it could not. */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) return undefined;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  /** Listens; resolves either way (logging why it could not). */
  async start(config: HttpSection): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    // A page left open must not keep a stopping gateway waiting.
    server.keepAliveTimeout = 5000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      const hint = (err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? '; choose another http.port, or http: false' : '';
      this.log('error', `http: cannot listen on ${config.host}:${config.port}: ${(err as Error).message}${hint}; the gateway runs on without its status page`);
      return;
    }
    server.on('error', (err) => this.log('warn', `http: ${err.message}`));
    this.server = server;
    this.log('info', `http: status page on ${this.url}/ (metrics on ${this.url}/metrics)`);
  }

  /**
   * Listens on a new host/port (a configuration reload): the old socket closes, open pages reconnect on
   * their own; counters and histograms carry on, since they live in the gateway, not in the socket.
   */
  async moveTo(config: HttpSection): Promise<void> {
    await this.closeServer();
    await this.start(config);
  }

  async stop(): Promise<void> {
    this.live.close();
    this.metrics.close();
    await this.closeServer();
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    if (path === '/api/reload') return void this.serveReload(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return this.text(res, 405, `${req.method} is not supported here: the HTTP face is read-only but for POST /api/reload\n`);
    }
    const file = STATIC_FILES[path];
    if (file) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache' });
      res.end(this.files.get(file.file));
      return;
    }
    if (path === '/events') return this.live.open(res);
    if (path === '/metrics') return void this.serveMetrics(res);
    if (path === '/healthz') {
      const problems = healthProblems(this.sources);
      return this.text(res, problems.length === 0 ? 200 : 503, problems.length === 0 ? 'ok\n' : problems.join('\n') + '\n');
    }
    if (path === '/api/status') return this.json(res, 200, snapshot(this.sources));
    if (path === '/api/clients') return this.json(res, 200, clientViews(this.sources));
    if (path.startsWith('/api/clients/')) return this.serveClient(res, path.slice('/api/clients/'.length));
    this.text(res, 404, `no such page: ${path}\n`);
  }

  /** Re-reads the configuration: 200 with what was applied, 422 with every error when the file was refused. */
  private async serveReload(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return this.json(res, 405, { error: 'POST /api/reload re-reads the configuration' });
    }
    // Changing the gateway is for the machine's own users (or an SSH tunnel), even when http.host is the LAN.
    if (!isLoopback(req.socket.remoteAddress)) return this.json(res, 403, { error: 'reload is accepted from this machine only' });
    const reload = this.sources.reload;
    if (!reload) return this.json(res, 501, { error: 'this gateway cannot reload its configuration' });
    req.resume(); // the body, if any, says nothing
    try {
      const outcome = await reload();
      this.json(res, outcome.ok ? 200 : 422, outcome);
    } catch (err) {
      this.json(res, 500, { ok: false, error: (err as Error).message });
    }
  }

  private serveClient(res: ServerResponse, encodedId: string): void {
    let clientId: string;
    try {
      clientId = decodeURIComponent(encodedId);
    } catch {
      return this.json(res, 400, { error: `not a percent-encoded ClientId: ${encodedId}` });
    }
    const info = this.sources.core.client(clientId);
    if (!info) return this.json(res, 404, { error: `no client ${JSON.stringify(clientId)}` });
    this.json(res, 200, clientView(info, this.sources.core.clock));
  }

  private async serveMetrics(res: ServerResponse): Promise<void> {
    try {
      const { contentType, text } = await this.metrics.scrape();
      res.writeHead(200, { 'content-type': contentType });
      res.end(text);
    } catch (err) {
      this.text(res, 500, `metrics failed: ${(err as Error).message}\n`);
    }
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(body);
  }
}
