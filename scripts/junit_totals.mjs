// Prints "N passed, N failed, N skipped" over JUnit reports from `deno test` and `bun test`,
// counting leaf test cases only (Deno also lists each describe() as a case), and exits 1
// when a report is missing or anything failed.
import { existsSync, readFileSync } from "node:fs";
import { basename } from "node:path";

const decode = (s) =>
  s.replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&quot;/g, '"').replace(
    /&apos;/g,
    "'",
  )
    .replace(/&amp;/g, "&");

let passed = 0, failed = 0, skipped = 0, missing = false;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`no report: ${file} (the runner crashed)`);
    missing = true;
    continue;
  }
  const xml = readFileSync(file, "utf8");
  const cases = [
    ...xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g),
  ].map((m) => ({
    name: decode(/name="([^"]*)"/.exec(m[1])?.[1] ?? ""),
    classname: decode(/classname="([^"]*)"/.exec(m[1])?.[1] ?? ""),
    body: m[3] ?? "",
  }));
  const full = (c) => basename(file).startsWith("deno") ? c.name : `${c.classname} > ${c.name}`;
  const names = cases.map(full);
  let p = 0, f = 0, s = 0;
  for (const c of cases) {
    const name = full(c);
    if (names.some((other) => other.startsWith(name + " > "))) continue; // a group
    if (/<failure|<error/.test(c.body)) f++;
    else if (/<skipped/.test(c.body)) s++;
    else p++;
  }
  console.log(`${basename(file, ".xml")}: ${p} passed, ${f} failed, ${s} skipped`);
  passed += p, failed += f, skipped += s;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || missing ? 1 : 0);
