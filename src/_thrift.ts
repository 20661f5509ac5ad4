/**
 * Typed handles on the parts of npm `thrift` this library uses (the package ships no types).
 *
 * @module
 */
import thrift from "thrift";

/** The message header a protocol reads. */
export interface MessageHeader {
  fname: string;
  mtype: number;
  rseqid: number;
}

/** The slice of a Thrift protocol the connection calls. */
export interface Protocol {
  writeMessageBegin(name: string, type: number, seqid: number): void;
  readMessageBegin(): MessageHeader;
  readMessageEnd(): void;
  skip(type: number): void;
}

/** A protocol class as the generated client takes it (`pClass`). */
export type ProtocolClass = new (
  transport: unknown,
  strictRead?: boolean,
  strictWrite?: boolean,
) => Protocol;

interface ThriftModule {
  InputBufferUnderrunError: new () => Error;
  Int64: new (value: Uint8Array | number | string) => unknown;
  Thrift: {
    MessageType: {
      CALL: number;
      REPLY: number;
      EXCEPTION: number;
      ONEWAY: number;
    };
    Type: { STRUCT: number };
    TApplicationException: new () => Error & { read(protocol: Protocol): void };
  };
}

const lib = thrift as unknown as ThriftModule;

/** Thrown by npm `thrift` protocols when the buffer ends inside a message. */
export const InputBufferUnderrunError: new () => Error = lib.InputBufferUnderrunError;

/** node-int64's `Int64`, as npm `thrift` re-exports it. */
export const Int64: new (value: Uint8Array | number | string) => unknown = lib.Int64;

/** Thrift message types. */
export const MessageType: ThriftModule["Thrift"]["MessageType"] = lib.Thrift.MessageType;

/** npm `thrift`'s `TApplicationException`, which reads the body of an EXCEPTION message. */
export const TApplicationException: ThriftModule["Thrift"]["TApplicationException"] =
  lib.Thrift.TApplicationException;

/** The wire type of a struct, for skipping a message body. */
export const STRUCT: number = lib.Thrift.Type.STRUCT;
