/**
 * The YAML language server that VS Code's YAML extension (and Neovim, Helix, Emacs...) run, driven over
 * stdio as an editor drives it: open a document, read the diagnostics it publishes, ask for completion
 * and hover. The schema store is off, so it reads only the schema a file's yaml-language-server line names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface Diagnostic {
  range: { start: { line: number; character: number } };
  message: string;
  source?: string;
}

interface Message { id?: number; method?: string; params?: any; result?: any; error?: unknown }

const SETTINGS = { validate: true, completion: true, hover: true, schemaStore: { enable: false } };

export class YamlLanguageServer {
  private readonly process: ChildProcess;
  private buffer = Buffer.alloc(0);
  private nextId = 0;
  private readonly replies = new Map<number, (message: Message) => void>();
  private readonly diagnosticWaiters: { uri: string; resolve: (d: Diagnostic[]) => void }[] = [];
  private readonly versions = new Map<string, number>();

  private constructor() {
    const bin = createRequire(import.meta.url).resolve('yaml-language-server/bin/yaml-language-server');
    this.process = spawn(process.execPath, [bin, '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.process.stdout!.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  static async start(rootDir: string): Promise<YamlLanguageServer> {
    const server = new YamlLanguageServer();
    await server.request('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(rootDir).href,
      capabilities: { workspace: { configuration: true }, textDocument: { completion: {}, hover: { contentFormat: ['markdown'] } } },
    });
    server.notify('initialized', {});
    server.notify('workspace/didChangeConfiguration', { settings: { yaml: SETTINGS } });
    return server;
  }

  /** Opens (or replaces) a document and resolves with the next diagnostics published for it. */
  show(path: string, text: string): Promise<Diagnostic[]> {
    const uri = pathToFileURL(path).href;
    const diagnostics = this.nextDiagnostics(uri);
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    if (version === 1) this.notify('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version, text } });
    else this.notify('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    return diagnostics;
  }

  async completion(path: string, line: number, character: number): Promise<string[]> {
    const result = await this.request('textDocument/completion', { textDocument: { uri: pathToFileURL(path).href }, position: { line, character } });
    const items: { label: string }[] = Array.isArray(result) ? result : result?.items ?? [];
    return items.map((item) => item.label);
  }

  async hover(path: string, line: number, character: number): Promise<string> {
    const result = await this.request('textDocument/hover', { textDocument: { uri: pathToFileURL(path).href }, position: { line, character } });
    return result?.contents?.value ?? '';
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill();
    await exited;
  }

  private nextDiagnostics(uri: string): Promise<Diagnostic[]> {
    return new Promise((resolve, reject) => {
      const waiter = { uri, resolve };
      this.diagnosticWaiters.push(waiter);
      setTimeout(() => {
        const index = this.diagnosticWaiters.indexOf(waiter);
        if (index < 0) return;
        this.diagnosticWaiters.splice(index, 1);
        reject(new Error(`no diagnostics for ${uri} within 10 s`));
      }, 10_000).unref();
    });
  }

  private request(method: string, params: unknown): Promise<any> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.replies.set(id, (message) => (message.error ? reject(new Error(JSON.stringify(message.error))) : resolve(message.result)));
      this.send({ jsonrpc: '2.0', id, method, params });
    });
  }

  private notify(method: string, params: unknown): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  private send(message: object): void {
    const text = JSON.stringify(message);
    this.process.stdin!.write(`Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
  }

  /** LSP framing: `Content-Length: n` headers, a blank line, n bytes of JSON. */
  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const length = Number(/Content-Length: (\d+)/i.exec(this.buffer.subarray(0, headerEnd).toString())?.[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const message = JSON.parse(this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString()) as Message;
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.dispatch(message);
    }
  }

  private dispatch(message: Message): void {
    if (message.method === undefined && message.id !== undefined) {
      this.replies.get(message.id)?.(message);
      this.replies.delete(message.id);
    } else if (message.id !== undefined) {
      // A request from the server: it asks for the editor's settings; anything else gets an empty answer.
      const result = message.method === 'workspace/configuration' ? message.params.items.map(() => SETTINGS) : null;
      this.send({ jsonrpc: '2.0', id: message.id, result });
    } else if (message.method === 'textDocument/publishDiagnostics') {
      const index = this.diagnosticWaiters.findIndex((w) => w.uri === message.params.uri);
      if (index >= 0) this.diagnosticWaiters.splice(index, 1)[0].resolve(message.params.diagnostics);
    }
  }
}
