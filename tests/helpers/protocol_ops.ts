/** Protocol calls as data, for the byte-for-byte protocol tests: `[method, ...args]`. */

/** One protocol call: its method name and arguments. */
export type Op = [string, ...unknown[]];

/** Wraps ops as a message with one struct. */
export function message(name: string, type: number, body: Op[], seqid = 7): Op[] {
  return [
    ["writeMessageBegin", name, type, seqid],
    ["writeStructBegin", "args"],
    ...body,
    ["writeFieldStop"],
    ["writeStructEnd"],
    ["writeMessageEnd"],
  ];
}

/** A field holding the ops of its value. */
export const field = (name: string, type: number, id: number, ...value: Op[]): Op[] => [
  ["writeFieldBegin", name, type, id],
  ...value,
  ["writeFieldEnd"],
];

/** The write calls of single values (each read back by its `read` twin). */
export const scalars: ReadonlySet<string> = new Set([
  "writeBool",
  "writeByte",
  "writeI16",
  "writeI32",
  "writeI64",
  "writeDouble",
  "writeString",
  "writeBinary",
]);
