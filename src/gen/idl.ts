/**
 * The shape of the Apache compiler's `--gen json` output: the IDL as data. Only the parts
 * the typed-module emitter reads are declared.
 *
 * @module
 */

/** A type reference: a base type, a container, or a named enum, struct, union or exception. */
export interface IdlType {
  /**
   * `bool`, `i8`, `i16`, `i32`, `i64`, `double`, `string`, `binary`, `list`, `set`, `map`,
   * `enum`, `struct`, `union`, `exception`, `void`. Compilers before 0.18 write enums as `i32`.
   */
  typeId: string;
  /** For `enum`, `struct`, `union`, `exception`: `Name` or `include.Name`. */
  class?: string;
  /** For `list` and `set`. */
  elemTypeId?: string;
  /** For `list` and `set` of a non-base type. */
  elemType?: IdlType;
  /** For `map`. */
  keyTypeId?: string;
  /** For `map` with a non-base key. */
  keyType?: IdlType;
  /** For `map`. */
  valueTypeId?: string;
  /** For `map` with a non-base value. */
  valueType?: IdlType;
}

/** A struct field or a function argument. */
export interface IdlField {
  /** The field id. */
  key: number;
  /** The field name. */
  name: string;
  /** The base type id. */
  typeId: string;
  /** The full type for non-base types. */
  type?: IdlType;
  /** `required`, `optional` or `req_out` (the default). */
  required: string;
  /** The default value, when the IDL gives one. */
  default?: unknown;
}

/** An enum. */
export interface IdlEnum {
  /** The enum name. */
  name: string;
  /** Its members and values. */
  members: { name: string; value: number }[];
}

/** A typedef. */
export interface IdlTypedef {
  /** The alias. */
  name: string;
  /** The base type id. */
  typeId: string;
  /** The full type for non-base types. */
  type?: IdlType;
}

/** A struct, exception or union. */
export interface IdlStruct {
  /** The type name. */
  name: string;
  /** True for exceptions. */
  isException: boolean;
  /** True for unions. */
  isUnion: boolean;
  /** The fields. */
  fields: IdlField[];
}

/** A constant. */
export interface IdlConstant {
  /** The constant name. */
  name: string;
  /** The base type id. */
  typeId: string;
  /** The full type for non-base types. */
  type?: IdlType;
}

/** A service function. */
export interface IdlFunction {
  /** The method name. */
  name: string;
  /** The return type id (`void` for none). */
  returnTypeId: string;
  /** The full return type for non-base types. */
  returnType?: IdlType;
  /** True for oneway methods. */
  oneway: boolean;
  /** The arguments, in order. */
  arguments: IdlField[];
  /** The declared exceptions. */
  exceptions: IdlField[];
}

/** A service. */
export interface IdlService {
  /** The service name. */
  name: string;
  /** The base service, `Name` or `include.Name`. */
  extends?: string;
  /** The functions declared here (not inherited ones). */
  functions: IdlFunction[];
}

/** One IDL file as the compiler describes it. */
export interface IdlDocument {
  /** The file's base name without `.thrift`. */
  name: string;
  /** The base names of included files. */
  includes: string[];
  /** Enums. */
  enums: IdlEnum[];
  /** Typedefs. */
  typedefs: IdlTypedef[];
  /** Structs, exceptions and unions. */
  structs: IdlStruct[];
  /** Constants. */
  constants: IdlConstant[];
  /** Services. */
  services: IdlService[];
}
