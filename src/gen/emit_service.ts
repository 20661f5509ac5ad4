/**
 * One service (as `--gen json` data) -> its types: `<Service>Client` (what a call accepts
 * and resolves to), `<Service>Handler` (what a server implements), and the service value,
 * plus the record of the arguments that IDL defaults make optional.
 *
 * @module
 */
import type { IdlField, IdlFunction, IdlService } from "./idl.ts";
import type { TypeText } from "./types.ts";

/** The key the library reads the minimum argument counts under (`src/_service_class.ts`). */
const MIN_ARGS = "@x/thrift-client/minArgs";

/** The name of the client interface of a service (or `include.Service`). */
function clientName(service: string): string {
  return `${service}Client`;
}

/** The name of the handler interface of a service (or `include.Service`). */
function handlerName(service: string): string {
  return `${service}Handler`;
}

/** How many arguments a call must pass: the trailing ones with IDL defaults may be left out. */
function leastArgs(args: readonly IdlField[]): number {
  let least = args.length;
  while (least > 0 && args[least - 1]?.default !== undefined) least--;
  return least;
}

/** A method's parameters as a call passes them (`limit?: number` for a trailing default). */
function callParams(f: IdlFunction, types: TypeText): string {
  const least = leastArgs(f.arguments);
  return f.arguments.map((a, i) => {
    const t = types.field(a, "in");
    if (i >= least) return `${a.name}?: ${t}`;
    return a.default === undefined ? `${a.name}: ${t}` : `${a.name}: ${t} | undefined`;
  }).join(", ");
}

/** The classes of the exceptions a method declares, each as `format` spells it. */
function exceptions(f: IdlFunction, format: (name: string) => string): string {
  return f.exceptions.map((e) => format(e.type?.class ?? e.typeId)).join(" or ");
}

function clientMethod(f: IdlFunction, types: TypeText): string {
  const ret = f.oneway ? "void" : types.of(f.returnTypeId, f.returnType, "out");
  const note = f.oneway
    ? " Oneway: resolves once sent."
    : f.exceptions.length
    ? ` Rejects with ${exceptions(f, (name) => `\`${name}\``)} when the service throws it.`
    : "";
  return `  /** Calls \`${f.name}\`.${note} */\n  ${f.name}(${
    callParams(f, types)
  }): Promise<${ret}>;`;
}

function handlerMethod(f: IdlFunction, types: TypeText): string {
  const params = f.arguments.map((a) => `${a.name}: ${types.read(a)}`).join(", ");
  const value = types.of(f.returnTypeId, f.returnType, "in");
  const ret = f.oneway ? "void" : `${value} | Promise<${value}>`;
  const note = f.oneway
    ? " Oneway: nothing is answered."
    : f.exceptions.length
    ? ` Reject with ${exceptions(f, (name) => `\`new ${name}(...)\``)} to answer with it.`
    : "";
  return `  /** Serves \`${f.name}\`.${note} */\n  ${f.name}(${params}): ${ret};`;
}

/** The declarations of one service of `file`.thrift (`_js_<Service>` is its JavaScript). */
export function emitService(s: IdlService, file: string, types: TypeText): string[] {
  const base = s.extends ? types.named(s.extends) : undefined;
  const inherited = base ? `, inherited ones included` : "";
  const service = types.use("Service");
  const optional = s.functions.filter((f) => leastArgs(f.arguments) < f.arguments.length);
  return [
    `/** The methods of service \`${s.name}\` (${file}.thrift)${inherited}. */`,
    `export interface ${clientName(s.name)}${base ? ` extends ${clientName(base)}` : ""} {`,
    ...s.functions.map((f) => clientMethod(f, types)),
    "}",
    `/**`,
    ` * What a server of \`${s.name}\` implements (${file}.thrift)${inherited}:`,
    ` * arguments as received, results as values or promises. Declare every argument: the`,
    ` * generated Processor calls a method whose \`length\` differs in callback style. A`,
    ` * synchronous throw escapes the Processor: reject instead (an \`async\` method does).`,
    ` */`,
    `export interface ${handlerName(s.name)}${base ? ` extends ${handlerName(base)}` : ""} {`,
    ...s.functions.map((f) => handlerMethod(f, types)),
    "}",
    `/** Service \`${s.name}\`: \`new ThriftClient(${s.name}.Client)\`, \`new ${s.name}.Processor(handler)\`. */`,
    `export const ${s.name}: ${service}<${clientName(s.name)}, ${
      handlerName(s.name)
    }> = _js_${s.name} as never;`,
    ...(optional.length
      ? [
        `// Lets the client leave out the arguments IDL defaults fill (the generated code does).`,
        `Object.defineProperty(_js_${s.name}.Client, Symbol.for("${MIN_ARGS}"), {`,
        `  value: { ${optional.map((f) => `${f.name}: ${leastArgs(f.arguments)}`).join(", ")} },`,
        `});`,
      ]
      : []),
  ];
}
