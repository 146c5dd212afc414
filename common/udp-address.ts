/**
 * How a UDP peer is named in logs, YAML and session keys: `udp:127.0.0.1:50123` or `udp:[::1]:50123`.
 * Shared by the UDP radio and the UDP client, so neither reaches into the other's folder.
 */
export interface UdpEndpoint { host: string; port: number }

/** `udp:127.0.0.1:50123`, or `udp:[::1]:50123` for IPv6. */
export function formatUdpAddress(host: string, port: number): string {
  return host.includes(':') ? `udp:[${host}]:${port}` : `udp:${host}:${port}`;
}

/** The inverse of formatUdpAddress; undefined for anything that is not a UDP address. */
export function parseUdpAddress(address: string): UdpEndpoint | undefined {
  if (!address.startsWith('udp:')) return undefined;
  let host: string;
  let portText: string;
  if (address.charCodeAt(4) === 0x5b /* [ */) {
    const close = address.indexOf(']:', 5);
    if (close < 0) return undefined;
    host = address.slice(5, close);
    portText = address.slice(close + 2);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon <= 4) return undefined;
    host = address.slice(4, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) return undefined; // IPv6 without brackets is ambiguous
  }
  if (host.length === 0 || !/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65_535) return undefined;
  return { host, port };
}
