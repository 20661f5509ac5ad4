/**
 * IDL types -> TypeScript type text, matching what the generated JavaScript and npm
 * `thrift`'s protocols produce: i64 is `_runtime.ts`'s `I64` (node-int64's `Int64`, or
 * `bigint` with `--int64 bigint`), binary a `Buffer`, lists and
 * sets arrays, maps plain objects, enums numbers, structs their generated classes.
 *
 * @module
 */
import type { IdlField, IdlType } from "./idl.ts";

/**
 * `out`: a value the generated code hands back (read from the wire). `in`: a value it
 * accepts (method arguments, constructor arguments), which is wider: an i64 may be a
 * number, a struct may be a plain object. `const`: an IDL constant or default, as the
 * generated code spells it (like `out`, but a binary literal stays a string).
 */
export type Direction = "in" | "out" | "const";

const BASE: Record<string, string> = {
  bool: "boolean",
  i8: "number",
  byte: "number",
  i16: "number",
  i32: "number",
  double: "number",
  string: "string",
  binary: "Buffer",
  void: "void",
};

/** Map keys the generated code stores as numeric object keys. */
const NUMERIC_KEYS = new Set(["i8", "byte", "i16", "i32", "double"]);

/** The `XInit` name of what a struct's constructor accepts. */
export function initName(className: string): string {
  return `${className}Init`;
}

/** The type of a base type id or full type, in one direction. */
export function typeText(typeId: string, type: IdlType | undefined, dir: Direction): string {
  if (typeId === "binary" && dir === "const") return "string";
  if (typeId in BASE) return BASE[typeId];
  if (typeId === "i64") return dir === "in" ? "I64In" : dir === "out" ? "I64" : "Int64";
  const t = type ?? { typeId };
  switch (typeId) {
    case "list":
    case "set": {
      const elem = typeText(t.elemTypeId ?? "void", t.elemType, dir);
      return dir === "in" ? `ReadonlyArray<${elem}>` : `Array<${elem}>`;
    }
    case "map": {
      const key = NUMERIC_KEYS.has(t.keyTypeId ?? "") ? "number" : "string";
      const value = typeText(t.valueTypeId ?? "void", t.valueType, dir);
      return `Record<${key}, ${value}>`;
    }
    case "struct":
    case "union":
    case "exception": {
      const name = t.class ?? "never";
      if (dir !== "in") return name;
      const dot = name.lastIndexOf(".");
      return dot < 0 ? initName(name) : `${name.slice(0, dot + 1)}${initName(name.slice(dot + 1))}`;
    }
    default:
      return "unknown";
  }
}

/** The type of a field or argument, in one direction. */
export function fieldType(field: IdlField, dir: Direction): string {
  return typeText(field.typeId, field.type, dir);
}

/**
 * A struct field as the class instance holds it: a required field or one with a default is
 * always set; any other is `null` until set (the generated constructor starts it as null).
 */
export function outMember(field: IdlField): string {
  let t = fieldType(field, "out");
  if (field.default !== undefined) {
    const literal = fieldType(field, "const"); // until the field is read from the wire
    if (literal !== t) t = `${t} | ${literal}`;
  }
  const always = field.required === "required" || field.default !== undefined;
  return `  ${field.name}: ${always ? t : `${t} | null`};`;
}

/** A struct field as the constructor accepts it: only `required` fields must be given. */
export function inMember(field: IdlField): string {
  const t = fieldType(field, "in");
  return field.required === "required"
    ? `  ${field.name}: ${t};`
    : `  ${field.name}?: ${t} | null;`;
}
