/**
 * The generator's last step: every module it wrote must load. Each relative import of the
 * typed modules, and each relative `require` of the JavaScript they reach, must name a file
 * that exists.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { GenerateError } from "./errors.ts";

const TS_IMPORT = /^import\b[^"\n]*"(\.{1,2}\/[^"]+)";$/gm;
const JS_REQUIRE = /\brequire\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The relative specifiers of a module: `import` lines of a `.ts`, `require` calls of a `.js`. */
function relativeSpecifiers(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const pattern = path.endsWith(".ts") ? TS_IMPORT : JS_REQUIRE;
  return [...text.matchAll(pattern)].map((m) => m[1] ?? "");
}

/** What `require` loads for a specifier without an extension. */
function asRequired(path: string): string {
  return /\.(c?js|json)$/.test(path) ? path : `${path}.js`;
}

/**
 * Throws unless every relative import of `modules` (and of the JavaScript they load,
 * transitively) exists.
 *
 * @param modules the typed modules written (absolute paths)
 * @throws {GenerateError} listing each specifier that names no file, and who imports it
 */
export function checkResolves(modules: readonly string[]): void {
  const missing: string[] = [];
  const seen = new Set<string>();
  const queue = [...modules];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    if (seen.has(path)) continue;
    seen.add(path);
    for (const specifier of relativeSpecifiers(path)) {
      const target = resolve(dirname(path), specifier);
      const file = path.endsWith(".ts") ? target : asRequired(target);
      if (!existsSync(file)) missing.push(`"${specifier}" imported by "${basename(path)}"`);
      else if (file.endsWith(".js") || file.endsWith(".ts")) queue.push(file);
    }
  }
  if (missing.length) {
    throw new GenerateError(
      `Cannot load the generated modules in "${dirname(modules[0] ?? "")}": no file for ${
        missing.join(", ")
      }`,
    );
  }
}
