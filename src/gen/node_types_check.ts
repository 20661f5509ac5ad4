/**
 * A look at the project the modules are generated into: in a project with a `package.json`,
 * Deno takes the types of `node:` modules (the generated `_runtime.ts` names `node:buffer`'s
 * `Buffer`) from `node_modules/@types/node`, so `deno check` needs it installed.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The nearest `package.json` at or above `dir`, if any. */
function nearestPackageJson(dir: string): string | undefined {
  for (let d = resolve(dir);; d = dirname(d)) {
    const path = join(d, "package.json");
    if (existsSync(path)) return path;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * A warning when the nearest `package.json` at or above `out` lists no `@types/node` in
 * `dependencies` or `devDependencies`; undefined otherwise (no `package.json`, or it does).
 *
 * @param out the output folder (it need not exist yet)
 * @returns the warning's text, or undefined
 */
export function nodeTypesWarning(out: string): string | undefined {
  const path = nearestPackageJson(out);
  if (!path) return undefined;
  let manifest: { dependencies?: object; devDependencies?: object };
  try {
    manifest = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined; // not ours to judge: npm and Deno report a broken package.json
  }
  const listed = [manifest.dependencies, manifest.devDependencies].some((deps) =>
    deps !== null && typeof deps === "object" && Object.hasOwn(deps, "@types/node")
  );
  if (listed) return undefined;
  return `warning: "${path}" lists no @types/node: deno check of the generated code needs it ` +
    "(npm install -D @types/node), since with a package.json Deno takes the types of node: " +
    "modules from node_modules/@types/node";
}
