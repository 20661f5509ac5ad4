/**
 * IDL types -> TypeScript type text, matching what the generated JavaScript and the
 * protocols produce: i64 is `_runtime.ts`'s `I64` (node-int64's `Int64`, or `bigint` with
 * `--int64 bigint`), binary a `Buffer` (any `Uint8Array` going in), lists and sets arrays,
 * maps plain objects, enums their type when the compiler's JSON names them (else numbers),
 * structs their generated classes. It records what the text names, so a module imports
 * only that.
 *
 * @module
 */
import type { IdlField, IdlType } from "./idl.ts";

/**
 * `out`: a value the generated code hands back (read from the wire). `in`: a value it
 * accepts (method arguments, constructor arguments, a handler's results), which is wider:
 * an i64 may be a number, a struct a plain object, a binary any `Uint8Array`. `const`: an
 * IDL constant or default, as the generated code spells it (like `out`, but a binary
 * literal stays a string).
 */
export type Direction = "in" | "out" | "const";

const BASE: Readonly<Record<string, string>> = {
  bool: "boolean",
  i8: "number",
  byte: "number",
  i16: "number",
  i32: "number",
  double: "number",
  string: "string",
  void: "void",
};

/** Map keys the generated code stores as numeric object keys. */
const NUMERIC_KEYS = new Set(["i8", "byte", "i16", "i32", "double", "enum"]);

/** The `XInit` name of what a struct's constructor accepts. */
export function initName(className: string): string {
  return `${className}Init`;
}

/** Type text for one module, remembering the `_runtime.ts` names and includes it used. */
export class TypeText {
  /** Names imported from `_runtime.ts` (`Buffer`, `I64`, `I64In`, `Int64`, ...). */
  readonly runtime: Set<string> = new Set();
  /** Include namespaces named (`shared` for `shared.Work`). */
  readonly includes: Set<string> = new Set();

  /** A `_runtime.ts` name, recorded as used. */
  use(name: string): string {
    this.runtime.add(name);
    return name;
  }

  /** A declared type's name (`Work`, `shared.Work`), its include recorded as used. */
  named(name: string): string {
    const dot = name.lastIndexOf(".");
    if (dot > 0) this.includes.add(name.slice(0, dot));
    return name;
  }

  /** The type of a base type id or full type, in one direction. */
  of(typeId: string, type: IdlType | undefined, dir: Direction): string {
    const base = BASE[typeId];
    if (base) return base;
    const t = type ?? { typeId };
    switch (typeId) {
      case "binary":
        return dir === "const" ? "string" : dir === "in" ? "Uint8Array" : this.use("Buffer");
      case "i64":
        return this.use(dir === "in" ? "I64In" : dir === "out" ? "I64" : "Int64");
      case "enum":
        return t.class ? this.named(t.class) : "number";
      case "list":
      case "set": {
        const elem = this.of(t.elemTypeId ?? "void", t.elemType, dir);
        return dir === "in" ? `ReadonlyArray<${elem}>` : `Array<${elem}>`;
      }
      case "map": {
        const value = this.of(t.valueTypeId ?? "void", t.valueType, dir);
        if (t.keyTypeId === "enum" && t.keyType?.class) {
          return `Partial<Record<${this.named(t.keyType.class)}, ${value}>>`;
        }
        return `Record<${NUMERIC_KEYS.has(t.keyTypeId ?? "") ? "number" : "string"}, ${value}>`;
      }
      case "struct":
      case "union":
      case "exception": {
        const name = this.named(t.class ?? "never");
        if (dir !== "in") return name;
        const dot = name.lastIndexOf(".");
        return dot < 0
          ? initName(name)
          : `${name.slice(0, dot + 1)}${initName(name.slice(dot + 1))}`;
      }
      default:
        return "unknown";
    }
  }

  /** The type of a field or argument, in one direction. */
  field(field: IdlField, dir: Direction): string {
    return this.of(field.typeId, field.type, dir);
  }

  /**
   * A field as the generated code reads it (a struct instance's member, an argument a
   * handler receives): a required field or one with a default is always set (until read
   * from the wire, a default is its literal); any other is `null` when absent.
   */
  read(field: IdlField): string {
    let t = this.field(field, "out");
    if (field.default !== undefined) {
      const literal = this.field(field, "const");
      if (literal !== t) t = `${t} | ${literal}`;
    }
    const always = field.required === "required" || field.default !== undefined;
    return always ? t : `${t} | null`;
  }

  /** A struct member as the class instance holds it. */
  outMember(field: IdlField): string {
    return `  ${field.name}: ${this.read(field)};`;
  }

  /**
   * A struct member as the constructor accepts it: only `required` fields must be given;
   * the others may be absent, `undefined` or `null` (the constructor skips both).
   */
  inMember(field: IdlField): string {
    const t = this.field(field, "in");
    return field.required === "required"
      ? `  ${field.name}: ${t};`
      : `  ${field.name}?: ${t} | null | undefined;`;
  }
}
