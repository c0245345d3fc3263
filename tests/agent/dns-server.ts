// A tiny DNS server for tests (UDP, 127.0.0.1, a free port): answers A queries for the names it is
// given, NODATA for other types of those names, NXDOMAIN for the rest; records every question.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface TestDns {
  /** `127.0.0.1:PORT`, as NGINX's `resolver` takes it. */
  address: string;
  /** Questions seen, as `name TYPE` (A, AAAA or the number). */
  questions: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: 'A', 28: 'AAAA' };

/** Reads the question's name (uncompressed labels) starting at byte 12; null when malformed. */
function questionName(msg: Buffer): { name: string; end: number } | null {
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length) {
    const len = msg[i]!;
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 };
    if (len > 63 || i + 1 + len > msg.length) return null;
    labels.push(msg.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return null;
}

export async function startTestDns(records: Record<string, string>): Promise<TestDns> {
  const questions: string[] = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, peer) => {
    const q = msg.length >= 12 ? questionName(msg) : null;
    if (!q || q.end + 4 > msg.length) return;
    const type = msg.readUInt16BE(q.end);
    questions.push(`${q.name} ${TYPES[type] ?? type}`);
    const address = records[q.name];
    const answer = address && type === 1;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (address ? 0 : 3), 2); // response, recursion available; NXDOMAIN for unknown names
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(answer ? 1 : 0, 6);
    const parts = [header, msg.subarray(12, q.end + 4)];
    if (answer) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(1, 2); // A
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(30, 6); // TTL
      rr.writeUInt16BE(4, 10);
      address.split('.').forEach((octet, k) => rr.writeUInt8(Number(octet), 12 + k));
      parts.push(rr);
    }
    socket.send(Buffer.concat(parts), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
