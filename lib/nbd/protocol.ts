/*
 * Numbers of the NBD protocol (the NetworkBlockDevice project's doc/proto.md): the fixed newstyle
 * handshake, the options a read-only server answers, and the transmission phase's simple replies.
 */

export const NBDMAGIC = 0x4e42444d41474943n;
export const IHAVEOPT = 0x49484156454f5054n;
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
export const REQUEST_MAGIC = 0x25609513;
export const SIMPLE_REPLY_MAGIC = 0x67446698;

/** Handshake flags (server) and client flags. */
export const HandshakeFlag = { FixedNewstyle: 1, NoZeroes: 2 } as const;

/** Transmission flags of an export. */
export const TransmissionFlag = {
  HasFlags: 1 << 0,
  ReadOnly: 1 << 1,
  SendFlush: 1 << 2,
  CanMultiConn: 1 << 8,
} as const;

export const Option = {
  ExportName: 1,
  Abort: 2,
  List: 3,
  StartTls: 5,
  Info: 6,
  Go: 7,
  StructuredReply: 8,
} as const;

export const Reply = {
  Ack: 1,
  Server: 2,
  Info: 3,
  ErrUnsup: 2 ** 31 + 1,
  ErrPolicy: 2 ** 31 + 2,
  ErrInvalid: 2 ** 31 + 3,
  ErrUnknown: 2 ** 31 + 6,
} as const;

export const InfoType = { Export: 0, Name: 1, Description: 2, BlockSize: 3 } as const;

export const Command = {
  Read: 0,
  Write: 1,
  Disc: 2,
  Flush: 3,
  Trim: 4,
  Cache: 5,
  WriteZeroes: 6,
  BlockStatus: 7,
} as const;

/** Error values of a simple reply. */
export const NbdError = { Perm: 1, Io: 5, Inval: 22, NotSup: 95 } as const;

/** The largest read a request may ask for: the protocol's usual maximum payload. */
export const MAX_PAYLOAD = 32 * 1024 * 1024;
