/**
 * One struct, union or exception (as `--gen json` data) -> its types: the instance type
 * (what the generated class holds), the `XInit` type (what its constructor and the calls
 * accept), and the class itself.
 *
 * @module
 */
import type { IdlField, IdlStruct } from "./idl.ts";
import { initName, type TypeText } from "./types.ts";

/** The name a typed module imports the compiler's `<file>_types.js` under. */
export const TYPES = "_js_types";
/** Members of `Error` an exception's field may shadow with another type. */
const ERROR_MEMBERS = new Set(["message", "name", "stack", "cause"]);

/**
 * True when a union is typed as "exactly one field": the generated class sets no field on
 * its own, so one set field is all a correct peer sends. A field with an IDL default is
 * always set by the generated constructor, so such a union (or one with no fields) is typed
 * as a struct.
 */
function exactlyOne(s: IdlStruct): boolean {
  return s.isUnion && s.fields.length > 0 && s.fields.every((f) => f.default === undefined);
}

/** `type X = | { a: T; b: null } | ...;`: one variant per field, the others as `other`. */
function oneOf(
  name: string,
  fields: IdlField[],
  set: (f: IdlField) => string,
  other: (f: IdlField) => string,
): string[] {
  const lines = fields.map((chosen) =>
    `  | { ${fields.map((f) => f === chosen ? set(f) : other(f)).join("; ")} }`
  );
  return [`export type ${name} =`, ...lines.slice(0, -1), `${lines.at(-1)};`];
}

/** The declarations of one struct, union or exception of `file`.thrift. */
export function emitStruct(s: IdlStruct, file: string, types: TypeText): string[] {
  const kind = s.isException ? "Exception" : s.isUnion ? "Union" : "Struct";
  const init = initName(s.name);
  const where = `${kind} \`${s.name}\` from ${file}.thrift`;
  let shape: string[];
  let takes = s.fields.some((f) => f.required === "required") ? "args" : "args?";
  if (exactlyOne(s)) {
    takes = "args";
    shape = [
      `/** ${where}, as the generated class holds it: one field set, the others null. */`,
      ...oneOf(
        s.name,
        s.fields,
        (f) => `${f.name}: ${types.field(f, "out")}`,
        (f) => `${f.name}: null`,
      ),
      `/** What \`new ${s.name}(...)\` and the calls accept for \`${s.name}\`: exactly one field. */`,
      ...oneOf(
        init,
        s.fields,
        (f) => `${f.name}: ${types.field(f, "in")}`,
        (f) => `${f.name}?: null | undefined`,
      ),
    ];
  } else {
    const clashes = s.fields.filter((f) => ERROR_MEMBERS.has(f.name)).map((f) => `"${f.name}"`);
    const base = !s.isException
      ? ""
      : clashes.length
      ? ` extends Omit<Error, ${clashes.join(" | ")}>`
      : " extends Error";
    shape = [
      `/** ${where}, as the generated class holds it. */`,
      `export interface ${s.name}${base} {`,
      ...s.fields.map((f) => types.outMember(f)),
      "}",
      `/** What \`new ${s.name}(...)\` and the calls accept for \`${s.name}\`. */`,
      `export interface ${init} {`,
      ...s.fields.map((f) => types.inMember(f)),
      "}",
    ];
  }
  return [
    ...shape,
    `/** The generated class of \`${s.name}\`${
      s.isException ? " (use with `instanceof`)" : ""
    }. */`,
    `export const ${s.name}: new (${takes}: ${init}) => ${s.name} = ${TYPES}.${s.name} as never;`,
  ];
}
