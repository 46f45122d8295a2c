/** Small parsers for command-line values; each throws UsageError with the flag's name. */
import { UsageError } from './exit-codes.js';

/** `ghcr.io=http://127.0.0.1:5000` → ['ghcr.io', 'http://127.0.0.1:5000']. */
export function parseEndpointMapping(text: string): [host: string, endpoint: string] {
  const separator = text.indexOf('=');
  const host = text.slice(0, separator).trim().toLowerCase();
  const endpoint = text.slice(separator + 1).trim();
  if (separator <= 0 || !host || !endpoint) {
    throw new UsageError(`--registry-endpoint expects HOST=URL (for example ghcr.io=http://127.0.0.1:5000), got "${text}"`);
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`--registry-endpoint ${host}: "${endpoint}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--registry-endpoint ${host}: only http and https endpoints are supported`);
  }
  return [host, endpoint.replace(/\/+$/, '')];
}

/** `7d`, `12h`, `30m`, `2w` → milliseconds. An ISO date is accepted too. */
export function parseSince(text: string, now: Date = new Date(), flag = '--since'): Date {
  const match = /^(\d+)\s*([mhdw])$/.exec(text.trim());
  if (match) {
    const amount = Number(match[1]);
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[match[2] as 'm' | 'h' | 'd' | 'w'];
    return new Date(now.getTime() - amount * unitMs);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(`${flag} expects a duration such as 7d, 12h, 30m, or a date, got "${text}"`);
  }
  return date;
}

export function parsePlatform(text: string): string {
  if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(text)) {
    throw new UsageError(`--platform expects OS/ARCH[/VARIANT] such as linux/amd64 or linux/arm64/v8, got "${text}"`);
  }
  return text;
}

export function parsePositiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${flag} expects a positive whole number, got "${text}"`);
  return value;
}

/** Commander collector for repeatable options. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
