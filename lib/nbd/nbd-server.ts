import { createServer, type Server, type Socket } from "node:net";
import type { ByteSource } from "../files/byte-source.ts";
import {
  Command,
  HandshakeFlag,
  IHAVEOPT,
  InfoType,
  MAX_PAYLOAD,
  NBDMAGIC,
  NbdError,
  OPTION_REPLY_MAGIC,
  Option,
  REQUEST_MAGIC,
  Reply,
  SIMPLE_REPLY_MAGIC,
  TransmissionFlag,
} from "./protocol.ts";
import { SocketReader } from "./socket-reader.ts";

/** What an NBD server serves: one read-only export. */
export interface NbdExport {
  /** The export's name; the default export (an empty name) is the same one. */
  readonly name: string;
  readonly description: string;
  readonly source: ByteSource;
  /** The block size clients should prefer (the point's). */
  readonly preferredBlockSize: number;
}

/** Option data longer than any option this server understands needs. */
const MAX_OPTION_DATA = 64 * 1024;
/** Reads one connection serves at once; replies go out as each completes. */
const READS_IN_FLIGHT = 8;

const FLAGS =
  TransmissionFlag.HasFlags |
  TransmissionFlag.ReadOnly |
  TransmissionFlag.SendFlush |
  TransmissionFlag.CanMultiConn;

/**
 * A read-only NBD server of `exp`: the fixed newstyle handshake (NBD_OPT_GO, INFO, LIST,
 * ABORT and EXPORT_NAME; other options are answered unsupported), then simple replies to reads;
 * writes, trims and zeroing are refused with EPERM, a flush is acknowledged (nothing is
 * written). The export never changes, so several connections may share it (CAN_MULTI_CONN).
 * Errors of the source become EIO on the read that met them, and `onError` hears of them. The
 * export may still be opening (the server listens first, so its address is known): connections
 * wait for it.
 */
export function createNbdServer(
  exp: NbdExport | Promise<NbdExport>,
  onError: (err: unknown) => void = () => {},
): Server {
  return createServer((socket) => {
    socket.setNoDelay(true);
    Promise.resolve(exp)
      .then((ready) => serveConnection(socket, ready, onError))
      .catch((err: unknown) => {
        onError(err);
        socket.destroy();
      });
  });
}

async function serveConnection(socket: Socket, exp: NbdExport, onError: (err: unknown) => void) {
  const input = new SocketReader(socket);
  const hello = Buffer.alloc(18);
  hello.writeBigUInt64BE(NBDMAGIC, 0);
  hello.writeBigUInt64BE(IHAVEOPT, 8);
  hello.writeUInt16BE(HandshakeFlag.FixedNewstyle | HandshakeFlag.NoZeroes, 16);
  socket.write(hello);
  const clientFlags = (await input.take(4))?.readUInt32BE(0);
  if (clientFlags === undefined || clientFlags & ~(HandshakeFlag.FixedNewstyle | HandshakeFlag.NoZeroes)) {
    return void socket.destroy();
  }
  const noZeroes = (clientFlags & HandshakeFlag.NoZeroes) !== 0;
  if (!(await negotiate(socket, input, exp, noZeroes))) return void socket.end();
  await transmit(socket, input, exp, onError);
}

/** Option haggling; true when the client entered transmission. */
async function negotiate(
  socket: Socket,
  input: SocketReader,
  exp: NbdExport,
  noZeroes: boolean,
): Promise<boolean> {
  while (true) {
    const header = await input.take(16);
    if (!header || header.readBigUInt64BE(0) !== IHAVEOPT) return false;
    const option = header.readUInt32BE(8);
    const length = header.readUInt32BE(12);
    if (length > MAX_OPTION_DATA) return false;
    const data = (await input.take(length)) ?? Buffer.alloc(0);
    const reply = (type: number, payload: Buffer = Buffer.alloc(0)) =>
      socket.write(optionReply(option, type, payload));
    switch (option) {
      case Option.ExportName: {
        if (!knownName(exp, data.toString("utf8"))) return false;
        const out = Buffer.alloc(noZeroes ? 10 : 134);
        out.writeBigUInt64BE(BigInt(exp.source.size), 0);
        out.writeUInt16BE(FLAGS, 8);
        socket.write(out);
        return true;
      }
      case Option.Abort:
        reply(Reply.Ack);
        return false;
      case Option.List:
        if (length !== 0) {
          reply(Reply.ErrInvalid);
          break;
        }
        reply(Reply.Server, lengthPrefixed(exp.name));
        reply(Reply.Ack);
        break;
      case Option.Info:
      case Option.Go: {
        const request = parseInfoRequest(data);
        if (!request) {
          reply(Reply.ErrInvalid);
          break;
        }
        if (!knownName(exp, request.name)) {
          reply(Reply.ErrUnknown, Buffer.from(`no export named ${JSON.stringify(request.name)}`));
          break;
        }
        for (const info of infoReplies(exp, request.wanted)) reply(Reply.Info, info);
        reply(Reply.Ack);
        if (option === Option.Go) return true;
        break;
      }
      default:
        // Structured replies, TLS and metadata contexts are not offered: the client falls back.
        reply(Reply.ErrUnsup);
    }
  }
}

function knownName(exp: NbdExport, name: string): boolean {
  return name === "" || name === exp.name;
}

function parseInfoRequest(data: Buffer): { name: string; wanted: number[] } | undefined {
  if (data.length < 6) return undefined;
  const nameLength = data.readUInt32BE(0);
  if (nameLength > data.length - 6) return undefined;
  const count = data.readUInt16BE(4 + nameLength);
  if (data.length !== 6 + nameLength + 2 * count) return undefined;
  const wanted = Array.from({ length: count }, (_, i) => data.readUInt16BE(6 + nameLength + 2 * i));
  return { name: data.toString("utf8", 4, 4 + nameLength), wanted };
}

/** NBD_INFO_EXPORT always; the name, description and block sizes when asked. */
function infoReplies(exp: NbdExport, wanted: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  const exportInfo = Buffer.alloc(12);
  exportInfo.writeUInt16BE(InfoType.Export, 0);
  exportInfo.writeBigUInt64BE(BigInt(exp.source.size), 2);
  exportInfo.writeUInt16BE(FLAGS, 10);
  out.push(exportInfo);
  const text = (type: number, value: string) => Buffer.concat([u16(type), Buffer.from(value, "utf8")]);
  if (wanted.includes(InfoType.Name)) out.push(text(InfoType.Name, exp.name));
  if (wanted.includes(InfoType.Description)) out.push(text(InfoType.Description, exp.description));
  if (wanted.includes(InfoType.BlockSize)) {
    const sizes = Buffer.alloc(14);
    sizes.writeUInt16BE(InfoType.BlockSize, 0);
    sizes.writeUInt32BE(1, 2);
    sizes.writeUInt32BE(Math.min(exp.preferredBlockSize, MAX_PAYLOAD), 6);
    sizes.writeUInt32BE(MAX_PAYLOAD, 10);
    out.push(sizes);
  }
  return out;
}

/** The transmission phase: requests until NBD_CMD_DISC or the connection closes. */
async function transmit(
  socket: Socket,
  input: SocketReader,
  exp: NbdExport,
  onError: (err: unknown) => void,
) {
  const inFlight = new Set<Promise<void>>();
  while (true) {
    const request = await input.take(28);
    if (!request || request.readUInt32BE(0) !== REQUEST_MAGIC) break;
    const type = request.readUInt16BE(6);
    const cookie = request.subarray(8, 16);
    const offset = Number(request.readBigUInt64BE(16));
    const length = request.readUInt32BE(24);
    if (type === Command.Disc) break;
    if (type === Command.Write) {
      // The payload follows the request; it is read and dropped before the refusal.
      if (length > MAX_PAYLOAD || !(await input.skip(length))) break;
      socket.write(simpleReply(cookie, NbdError.Perm));
      continue;
    }
    if (type === Command.Trim || type === Command.WriteZeroes) {
      socket.write(simpleReply(cookie, NbdError.Perm));
      continue;
    }
    if (type === Command.Flush) {
      socket.write(simpleReply(cookie, 0));
      continue;
    }
    if (type !== Command.Read) {
      socket.write(simpleReply(cookie, NbdError.Inval));
      continue;
    }
    if (length > MAX_PAYLOAD || offset + length > exp.source.size) {
      socket.write(simpleReply(cookie, NbdError.Inval));
      continue;
    }
    while (inFlight.size >= READS_IN_FLIGHT) await Promise.race(inFlight);
    const task = serveRead(socket, exp, Buffer.from(cookie), offset, length, onError).finally(() =>
      inFlight.delete(task),
    );
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  socket.end();
}

async function serveRead(
  socket: Socket,
  exp: NbdExport,
  cookie: Buffer,
  offset: number,
  length: number,
  onError: (err: unknown) => void,
): Promise<void> {
  let data: Buffer;
  try {
    data = length === 0 ? Buffer.alloc(0) : await exp.source.read(offset, length);
  } catch (err) {
    onError(err);
    socket.write(simpleReply(cookie, NbdError.Io));
    return;
  }
  // Header and data written back to back, with no wait between: replies of concurrent reads
  // never interleave, and the data is not copied into a joined buffer.
  socket.write(simpleReply(cookie, 0));
  socket.write(data);
}

function simpleReply(cookie: Buffer, error: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeUInt32BE(SIMPLE_REPLY_MAGIC, 0);
  out.writeUInt32BE(error, 4);
  cookie.copy(out, 8);
  return out;
}

function optionReply(option: number, type: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(20);
  out.writeBigUInt64BE(OPTION_REPLY_MAGIC, 0);
  out.writeUInt32BE(option, 8);
  out.writeUInt32BE(type, 12);
  out.writeUInt32BE(payload.length, 16);
  return Buffer.concat([out, payload]);
}

function lengthPrefixed(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  const out = Buffer.alloc(4);
  out.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([out, bytes]);
}

function u16(n: number): Buffer {
  const out = Buffer.alloc(2);
  out.writeUInt16BE(n, 0);
  return out;
}
