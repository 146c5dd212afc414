/**
 * The daemon: `mqtt-sn-gateway [--config PATH] [--check] [-v]`. Reads gateway.yaml, starts the gateway,
 * stops cleanly on Ctrl-C / SIGTERM.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/config.js';
import { Gateway } from './gateway.js';
import { consoleLogger } from './logger.js';
import { importPaho, PahoImportError } from './paho/import-paho.js';

const PERMIT_JOIN_SECONDS = 120;
/** Emitted on `process` once the gateway serves; bin/mqtt-sn-gateway.js waits for it. */
const SERVING = 'mqtt-sn-gateway:serving';

const USAGE = `usage: mqtt-sn-gateway [--config PATH] [--check] [-v]
       mqtt-sn-gateway import-paho PAHO_GATEWAY_CONF   (prints the equivalent gateway.yaml)
  -c, --config PATH  configuration file (default ./gateway.yaml)
      --check        validate the configuration and exit
  -v, --verbose      debug logging (overrides log.level) and every frame in and out, decoded
  -h, --help         this text
Signals: SIGINT/SIGTERM stop cleanly; SIGHUP reloads the configuration;
         SIGUSR1 permits Zigbee joining for 120 s; SIGUSR2 logs counters and every client's state.`;

/** `import-paho gateway.conf`: prints the equivalent gateway.yaml on stdout. */
function importPahoCommand(args: string[]): number {
  if (args.length !== 1 || args[0].startsWith('-')) {
    process.stderr.write(`usage: mqtt-sn-gateway import-paho PAHO_GATEWAY_CONF > gateway.yaml\n`);
    return 2;
  }
  try {
    process.stdout.write(importPaho(args[0]));
    return 0;
  } catch (err) {
    if (!(err instanceof PahoImportError)) throw err;
    process.stderr.write(`mqtt-sn-gateway import-paho: ${err.message}\n`);
    return 2;
  }
}

async function main(): Promise<number> {
  if (process.argv[2] === 'import-paho') return importPahoCommand(process.argv.slice(3));
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', short: 'c', default: 'gateway.yaml' },
        check: { type: 'boolean', default: false },
        verbose: { type: 'boolean', short: 'v', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  let config;
  try {
    config = loadConfig(args.config!);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args.check) {
    process.stdout.write(`${args.config}: OK\n`);
    return 0;
  }
  const stderrLogger = consoleLogger(args.verbose ? 'debug' : config.log.level, undefined, config.log.format);
  // -v keeps debug logging whatever log.level a reload brings.
  const logger = args.verbose ? { log: stderrLogger.log, setFormat: stderrLogger.setFormat } : stderrLogger;
  // Signal handlers go in before the gateway starts: Node's default for SIGUSR1 is to open its debugger on
  // port 9229, and for SIGHUP/SIGUSR2 to end the process, so a signal sent during start-up must find ours.
  let gateway: Gateway | undefined;
  const whenRunning = (signal: string, action: (running: Gateway) => void) => () => {
    if (gateway) action(gateway);
    else logger.log('warn', `${signal}: the gateway is still starting; ignored`);
  };
  // `kill -USR1 <pid>` lets new Zigbee sensors join for two minutes, without a restart.
  process.on('SIGUSR1', whenRunning('SIGUSR1', (running) => {
    running.permitJoin(PERMIT_JOIN_SECONDS).then(
      ({ radios, permitted }) =>
        logger.log(
          permitted > 0 || radios === 0 ? 'info' : 'warn',
          permitted > 0
            ? `SIGUSR1: Zigbee joining permitted for ${PERMIT_JOIN_SECONDS} s`
            : radios > 0
              ? 'SIGUSR1: Zigbee joining not permitted: no Zigbee coordinator is running'
              : 'SIGUSR1: no Zigbee radio to permit joining on',
        ),
      (err) => logger.log('warn', `SIGUSR1: permit join failed: ${(err as Error).message}`),
    );
  }));
  // `kill -HUP <pid>` reads the configuration again; the gateway logs what it applied, or why it refused.
  process.on('SIGHUP', whenRunning('SIGHUP', (running) => {
    running.reload().catch((err) => logger.log('error', `SIGHUP: reload failed: ${(err as Error).message}`));
  }));
  // `kill -USR2 <pid>` logs the gateway's counters and every client's state.
  process.on('SIGUSR2', whenRunning('SIGUSR2', (running) => {
    for (const line of running.statusReport()) logger.log('info', line);
  }));
  try {
    gateway = await Gateway.start(config, { logger, traceFrames: args.verbose, configPath: args.config });
  } catch (err) {
    logger.log('error', `cannot start: ${(err as Error).message}`);
    return 1;
  }
  const radios = gateway.radios.map((r) => r.name).join(', ');
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.log('info', `${signal}: stopping`);
      resolve();
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    // Said once the handlers are in: whoever stops the gateway on seeing this line (a supervisor, a test) must
    // not meet Node's default SIGTERM, which ends the process without a clean stop.
    logger.log('info', `MQTT-SN gateway ${config.gateway.id} running: radios ${radios}; broker ${gateway.brokerUrl}`);
    // Start-up is over: bin/mqtt-sn-gateway.js saves its code cache and gives V8 back the flags it tuned for it.
    (process as NodeJS.EventEmitter).emit(SERVING);
  });
  await gateway.stop();
  logger.log('info', 'stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`mqtt-sn-gateway: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
