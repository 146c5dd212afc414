/**
 * The `mqtt-sn` command: publish to or subscribe through an MQTT-SN gateway over UDP, like mosquitto_pub/sub,
 * and find gateways (§6.1 SEARCHGW).
 *   mqtt-sn pub -t home/x -m 21.5 -q 1
 *   mqtt-sn sub -t 'home/#' -v
 *   mqtt-sn search -h 192.168.1.255
 */
import { parseArgs } from 'node:util';
import { MqttSnClient, type ReceivedMessage, type TopicSpec, type WillOptions } from './client.js';
import { formatMessage, hex } from './format.js';
import { searchGateways, type FoundGateway } from './search.js';
import { DEFAULT_GATEWAY_PORT } from './udp-peer.js';

const USAGE = `Usage: mqtt-sn pub|sub|search [options]

  mqtt-sn pub -t home/kitchen/temp -m 21.5 -q 1     publish one message
  mqtt-sn sub -t 'home/#' -v                       print messages as they arrive
  mqtt-sn search -h 192.168.1.255                  find gateways: SEARCHGW, print each GWINFO/ADVERTISE
  mqtt-sn search -h 225.1.1.1 -p 1883              ... by multicast, as Paho clients search

Gateway
  -h, --host HOST          gateway address (default 127.0.0.1); with search or --search: where
                           SEARCHGW goes (a gateway, a broadcast address or a multicast group)
  -p, --port PORT          gateway UDP port (default ${DEFAULT_GATEWAY_PORT})
      --search             pub/sub: send SEARCHGW to HOST:PORT first and use the first gateway
                           that answers (§6.1)
      --interface ADDRESS  multicast search: the local interface address to send from
Topic
  -t, --topic TOPIC        topic name (wildcards allowed for sub)
  -T, --predefined ID      use predefined topic id ID (§6.7); with -t, -t names it in output
  -s, --short              TOPIC is a two-character short topic name (§6.7)
Session
  -i, --id ID              client id (default mqtt-sn-pub-<pid> / mqtt-sn-sub-<pid>)
  -k, --keepalive SECONDS  keep-alive duration (default 60)
  -c, --no-clean           connect with CleanSession=0
      --will-topic TOPIC   will topic; with --will-payload, --will-qos, --will-retain
Publish
  -m, --message TEXT       payload
  -n, --null-message       empty payload
  -q, --qos QOS            -1, 0, 1 or 2 (default 0); -1 needs -T or -s and sends no CONNECT (§6.8)
  -r, --retain             retain flag
Subscribe
  -q, --qos QOS            requested QoS 0, 1 or 2 (default 0)
  -C, --count N            exit after N messages
  -v, --verbose            print "topic payload" instead of the payload alone
Search
  -C, --count N            stop after N answers
  -W, --timeout SECONDS    listen this long for answers (default 3)
Both
  -W, --timeout SECONDS    give up after this long (sub: stop listening; with -C, fail if short)
  -d, --debug              print every frame sent and received on stderr
      --help               this text

Exit status: 0 ok, 1 error (search: no gateway answered).`;

const OPTIONS = {
  host: { type: 'string', short: 'h', default: '127.0.0.1' },
  port: { type: 'string', short: 'p', default: String(DEFAULT_GATEWAY_PORT) },
  topic: { type: 'string', short: 't' },
  predefined: { type: 'string', short: 'T' },
  short: { type: 'boolean', short: 's', default: false },
  qos: { type: 'string', short: 'q', default: '0' },
  retain: { type: 'boolean', short: 'r', default: false },
  id: { type: 'string', short: 'i' },
  keepalive: { type: 'string', short: 'k', default: '60' },
  message: { type: 'string', short: 'm' },
  'null-message': { type: 'boolean', short: 'n', default: false },
  'no-clean': { type: 'boolean', short: 'c', default: false },
  count: { type: 'string', short: 'C' },
  timeout: { type: 'string', short: 'W' },
  verbose: { type: 'boolean', short: 'v', default: false },
  debug: { type: 'boolean', short: 'd', default: false },
  'will-topic': { type: 'string' },
  'will-payload': { type: 'string' },
  'will-qos': { type: 'string' },
  'will-retain': { type: 'boolean', default: false },
  search: { type: 'boolean', default: false },
  interface: { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

/** How long a search listens when -W does not say. */
const DEFAULT_SEARCH_MS = 3000;

/** A usage mistake: reported with a pointer to --help. */
class UsageError extends Error {}

interface SearchSettings {
  command: 'search';
  host: string;
  port: number;
  count: number | undefined;
  timeoutMs: number;
  multicastInterface: string | undefined;
  debug: boolean;
}

interface Settings {
  command: 'pub' | 'sub';
  host: string;
  port: number;
  /** --search: host:port is where SEARCHGW goes, and the first gateway to answer is used. */
  search: boolean;
  multicastInterface: string | undefined;
  topic: TopicSpec;
  /** The name printed for received messages when the gateway sends a topic id the client cannot name. */
  displayTopic: string | undefined;
  predefined: Map<number, string>;
  qos: -1 | 0 | 1 | 2;
  retain: boolean;
  clientId: string;
  keepAlive: number;
  cleanSession: boolean;
  will: WillOptions | undefined;
  payload: Buffer;
  count: number | undefined;
  timeoutMs: number | undefined;
  verbose: boolean;
  debug: boolean;
}

async function main(argv: string[]): Promise<number> {
  let settings: Settings | SearchSettings | 'help';
  try {
    settings = parseSettings(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mqtt-sn: ${message}\nTry 'mqtt-sn --help'.\n`);
    return 1;
  }
  if (settings === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (settings.command === 'search') return search(settings);
  let client: MqttSnClient | undefined;
  try {
    const gateway = settings.search ? await findGateway(settings) : { host: settings.host, port: settings.port };
    client = await MqttSnClient.open({
      gateway,
      predefined: settings.predefined,
      // A person is waiting: fail within seconds rather than the spec's T_RETRY of 10-15 s.
      retryInterval: 3000,
      retryCount: 2,
      autoPing: settings.command === 'sub',
      keepLog: false,
      onFrame: settings.debug ? printFrame : undefined,
    });
    if (settings.command === 'pub') await withTimeout(publish(client, settings), settings.timeoutMs);
    else await subscribe(client, settings);
    return 0;
  } catch (err) {
    process.stderr.write(`mqtt-sn: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}

function parseSettings(argv: string[]): Settings | SearchSettings | 'help' {
  const { values, positionals } = parseArgs({ args: joinNegativeQos(argv), options: OPTIONS, allowPositionals: true, strict: true });
  if (values.help) return 'help';
  const [command, ...extra] = positionals;
  if (command !== 'pub' && command !== 'sub' && command !== 'search') {
    throw new UsageError(command === undefined ? 'say pub, sub or search' : `unknown command "${command}": say pub, sub or search`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (command === 'search') {
    return {
      command,
      host: values.host,
      port: integer('-p', values.port, 1, 65_535),
      count: values.count === undefined ? undefined : integer('-C', values.count, 1, Number.MAX_SAFE_INTEGER),
      timeoutMs: values.timeout === undefined ? DEFAULT_SEARCH_MS : integer('-W', values.timeout, 1, 86_400) * 1000,
      multicastInterface: values.interface,
      debug: values.debug,
    };
  }

  const qos = integer('-q', values.qos, command === 'pub' ? -1 : 0, 2) as Settings['qos'];
  const predefinedId = values.predefined === undefined ? undefined : integer('-T', values.predefined, 0, 0xffff);
  const predefined = new Map<number, string>();
  let topic: TopicSpec;
  if (predefinedId !== undefined) {
    if (values.short) throw new UsageError('-T and -s cannot be combined');
    topic = { predefinedId };
    if (values.topic !== undefined) predefined.set(predefinedId, values.topic);
  } else if (values.topic === undefined) {
    throw new UsageError('a topic is needed: -t TOPIC or -T ID');
  } else if (values.short) {
    if (Buffer.byteLength(values.topic) !== 2) throw new UsageError(`-s: short topic "${values.topic}" must be exactly two bytes`);
    topic = { shortName: values.topic };
  } else {
    topic = values.topic;
  }
  if (qos === -1 && typeof topic === 'string') throw new UsageError('-q -1 needs a predefined topic id (-T) or a short topic (-s) (§6.8)');

  let payload = Buffer.alloc(0);
  if (command === 'pub') {
    if (values.message !== undefined && values['null-message']) throw new UsageError('-m and -n cannot be combined');
    if (values.message === undefined && !values['null-message']) throw new UsageError('a message is needed: -m TEXT or -n');
    if (values.message !== undefined) payload = Buffer.from(values.message);
  }

  const will: WillOptions | undefined = values['will-topic'] === undefined ? undefined : {
    topic: values['will-topic'],
    message: values['will-payload'] ?? '',
    qos: values['will-qos'] === undefined ? 0 : (integer('--will-qos', values['will-qos'], 0, 2) as 0 | 1 | 2),
    retain: values['will-retain'],
  };

  return {
    command,
    host: values.host,
    port: integer('-p', values.port, 1, 65_535),
    search: values.search,
    multicastInterface: values.interface,
    topic,
    displayTopic: values.topic ?? (predefinedId === undefined ? undefined : String(predefinedId)),
    predefined,
    qos,
    retain: values.retain,
    clientId: values.id ?? `mqtt-sn-${command}-${process.pid}`,
    keepAlive: integer('-k', values.keepalive, 0, 0xffff),
    cleanSession: !values['no-clean'],
    will,
    payload,
    count: values.count === undefined ? undefined : integer('-C', values.count, 1, Number.MAX_SAFE_INTEGER),
    timeoutMs: values.timeout === undefined ? undefined : integer('-W', values.timeout, 1, 86_400) * 1000,
    verbose: values.verbose,
    debug: values.debug,
  };
}

/** parseArgs reads `-q -1` as a missing value followed by an option; make it `--qos=-1`. */
function joinNegativeQos(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '-q' || argv[i] === '--qos') && /^-\d+$/.test(argv[i + 1] ?? '')) {
      out.push(`--qos=${argv[i + 1]}`);
      i++;
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

function integer(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || value < min || value > max) throw new UsageError(`${flag}: "${text}" is not an integer in ${min}..${max}`);
  return value;
}

function describeGateway(g: FoundGateway): string {
  const where = g.host.includes(':') ? `[${g.host}]:${g.port}` : `${g.host}:${g.port}`;
  return `${g.via} gwId=${g.gwId}${g.duration === undefined ? '' : ` duration=${g.duration}`} from ${where}`;
}

/** `mqtt-sn search`: one line per distinct answer, as it arrives; exit 1 when nobody answered. */
async function search(s: SearchSettings): Promise<number> {
  try {
    const found = await searchGateways({
      to: { host: s.host, port: s.port },
      timeoutMs: s.timeoutMs,
      count: s.count,
      multicastInterface: s.multicastInterface,
      onFound: (g) => process.stdout.write(`${describeGateway(g)}\n`),
    });
    if (found.length > 0) return 0;
    process.stderr.write(`mqtt-sn: no gateway answered SEARCHGW sent to ${s.host}:${s.port} within ${s.timeoutMs / 1000} s\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`mqtt-sn: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** --search: the first gateway that answers SEARCHGW sent to -h/-p (§6.1). */
async function findGateway(s: Settings): Promise<{ host: string; port: number }> {
  const timeoutMs = s.timeoutMs ?? DEFAULT_SEARCH_MS;
  const [first] = await searchGateways({ to: { host: s.host, port: s.port }, count: 1, timeoutMs, multicastInterface: s.multicastInterface });
  if (!first) throw new Error(`no gateway answered SEARCHGW sent to ${s.host}:${s.port} within ${timeoutMs / 1000} s`);
  if (s.debug) process.stderr.write(`found ${describeGateway(first)}\n`);
  return { host: first.host, port: first.port };
}

async function publish(client: MqttSnClient, s: Settings): Promise<void> {
  if (s.qos === -1) {
    await client.publish(s.topic, s.payload, { qos: -1, retain: s.retain });
    return;
  }
  await client.connect({ clientId: s.clientId, keepAlive: s.keepAlive, cleanSession: s.cleanSession, will: s.will });
  await client.publish(s.topic, s.payload, { qos: s.qos, retain: s.retain });
  await client.disconnect();
}

/** Prints messages until -C is reached, -W passes, Ctrl-C, or the gateway drops the session. */
async function subscribe(client: MqttSnClient, s: Settings): Promise<void> {
  const qos = s.qos === -1 ? 0 : s.qos;
  let printed = 0;
  let subscribed = false;
  let timer: NodeJS.Timeout | undefined;
  let interrupt = () => {};
  const done = new Promise<void>((resolve, reject) => {
    client.on('message', (message) => {
      if (s.count !== undefined && printed >= s.count) return;
      process.stdout.write(`${render(message, s)}\n`);
      if (++printed === s.count) resolve();
    });
    client.on('disconnect', () => reject(new Error('the gateway ended the session (DISCONNECT)')));
    client.on('lost', (err) => reject(new Error(`lost the gateway: ${err.message}`)));
    if (s.timeoutMs !== undefined) {
      const timeoutMs = s.timeoutMs;
      timer = setTimeout(() => {
        if (!subscribed) reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for the gateway`));
        else if (s.count === undefined) resolve();
        else reject(new Error(`timed out after ${timeoutMs / 1000} s with ${printed} of ${s.count} messages`));
      }, timeoutMs);
    }
    interrupt = () => resolve();
  });
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    const session = (async () => {
      await client.connect({ clientId: s.clientId, keepAlive: s.keepAlive, cleanSession: s.cleanSession, will: s.will });
      await client.subscribe(s.topic, qos);
      subscribed = true;
    })();
    // -W and Ctrl-C also cut short a gateway that does not answer.
    await Promise.race([session.then(() => done), done]);
  } finally {
    clearTimeout(timer);
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
  if (client.connected) await client.disconnect();
}

function render(message: ReceivedMessage, s: Settings): string {
  const payload = message.payload.toString('utf8');
  if (!s.verbose) return payload;
  const topic = message.topic ?? (message.topicIdType === 'predefined' && s.displayTopic !== undefined ? s.displayTopic : String(message.topicId));
  return `${topic} ${payload}`;
}

function printFrame(direction: 'sent' | 'received', frame: Buffer, message: unknown): void {
  const text = message instanceof Error ? message.message : formatMessage(message as Parameters<typeof formatMessage>[0]);
  process.stderr.write(`${direction === 'sent' ? '->' : '<-'} ${text}  ${hex(frame)}\n`);
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (timeoutMs === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

process.exitCode = await main(process.argv.slice(2));
