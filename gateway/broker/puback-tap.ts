/**
 * The one place that knows how mqtt.js reads its connection, so that the PubackReader can sit in front
 * of its parser (issue 13). mqtt.js still opens, owns and closes every connection; two things here
 * depend on its insides, and test/broker/puback-tap.test.ts fails if either changes:
 *  - it makes each connection's stream with `client.streamBuilder` (a private field) when `connect()`
 *    runs, so wrapping that field taps every connection, reconnections included;
 *  - it reads the stream by `stream.pipe(itsWritable)`, so the stream's own pipe() is replaced by one
 *    that feeds the reader, which hands mqtt.js everything but the PUBACKs it took.
 * Were either to change, PUBACKs would simply reach mqtt.js again and the upstream would take them from
 * its 'packetreceive' as before: slower, not wrong.
 */
import type { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';
import type { PubackReader } from './puback-reader.js';

type StreamBuilder = (client: MqttClient) => Duplex;

/**
 * Makes `client` (created with manualConnect) tap each connection it opens from now on. False when
 * mqtt.js has no stream builder where it used to (nothing is tapped then).
 */
export function tapConnections(client: MqttClient, newReader: () => PubackReader): boolean {
  const internals = client as unknown as { streamBuilder?: StreamBuilder };
  const build = internals.streamBuilder;
  if (typeof build !== 'function') return false;
  internals.streamBuilder = (c) => readPubacksFirst(build(c), newReader());
  return true;
}

/**
 * Replaces `stream.pipe` (on this stream only) by one that passes the data through `reader` first,
 * with the backpressure and end that pipe() gives.
 */
export function readPubacksFirst<S extends Duplex>(stream: S, reader: PubackReader): S {
  const originalPipe = stream.pipe;
  stream.pipe = function pipeThroughReader<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    stream.pipe = originalPipe;
    const pass = (part: Buffer): void => {
      if (destination.write(part)) return;
      stream.pause();
      destination.once('drain', () => stream.resume());
    };
    stream.on('data', (chunk: Buffer) => reader.read(chunk, pass));
    if (options?.end !== false) stream.once('end', () => destination.end());
    return destination;
  } as S['pipe'];
  return stream;
}
