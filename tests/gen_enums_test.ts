import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { describe, it } from "node:test";
import { emitModule } from "../src/gen/emit.ts";
import { checkFiles, compilerAvailable, fromRoot, runGenerator } from "./helpers/gen_run.ts";

const T = { timeout: 120_000 };
const FIXTURES = fromRoot("tests/fixtures/enums");

/** What a user writes against the enum-typed modules: the expected errors prove the types. */
const USAGE = (dir: string) =>
  `import { Color } from "./${dir}/palette.ts";
import { Can, Finish, HOUSE, type PainterClient, type PainterHandler, type Shade } from "./${dir}/paint.ts";

const can = new Can({
  color: Color.RED,
  mix: [Color.GREEN],
  byColor: { [Color.RED]: Finish.GLOSS },
  finishes: [Finish.MATTE],
});
const color: Color | null = can.color;
const finish: Finish = can.finish; // a default: always set
const mixed: Color | undefined = can.mix?.[0];
const byColor: Finish | undefined = can.byColor?.[Color.GREEN];
const house: Color = HOUSE;
const shade: Shade = Color.GREEN;
// @ts-expect-error: 3 is not a Color
new Can({ color: 3 });
// @ts-expect-error: a Finish is not a Color
new Can({ mix: [Finish.GLOSS] });
// @ts-expect-error: map keys are Colors
new Can({ byColor: { [Finish.GLOSS]: Finish.GLOSS } });

export async function call(client: PainterClient): Promise<Color> {
  const table: Partial<Record<Finish, Color>> = await client.table();
  // @ts-expect-error: the argument is a Finish
  await client.pick(Color.RED, []);
  void table;
  return await client.pick(Finish.GLOSS, [Color.RED]);
}

export const handler: PainterHandler = {
  pick: (f, avoid) => f === Finish.GLOSS && !avoid?.includes(Color.GREEN) ? Color.GREEN : Color.RED,
  table: () => ({ [Finish.MATTE]: Color.RED }),
};

export const wrong: PainterHandler = {
  ...handler,
  // @ts-expect-error: pick answers a Color
  pick: () => Finish.MATTE,
};
void [color, finish, mixed, byColor, house, shade];
`;

describe("gen: enums", { skip: !compilerAvailable() }, () => {
  it("types enums by name when the compiler's JSON names them (0.18 on)", T, () => {
    const dir = `_enums_${process.pid}`;
    const out = fromRoot(`tests/typed/${dir}`);
    const usage = fromRoot(`tests/typed/${dir}.ts`);
    try {
      const result = runGenerator([`${FIXTURES}/paint.thrift`, "--out", out]);
      assert.equal(result.status, 0, result.stderr);
      // Debian's 0.17 writes enums as i32: they stay numbers
      assert.match(readFileSync(`${out}/paint.ts`, "utf8"), /^ {2}color: number \| null;$/m);
      for (const name of ["paint", "palette"]) {
        const json = JSON.parse(readFileSync(`${FIXTURES}/${name}.json`, "utf8"));
        writeFileSync(
          `${out}/${name}.ts`,
          emitModule(json, { jsDir: "./js", runtime: "./_runtime.ts" }),
        );
      }
      const paint = readFileSync(`${out}/paint.ts`, "utf8");
      for (
        const line of [
          "  color: palette.Color | null;",
          "  finish: Finish;",
          "  mix: Array<palette.Color> | null;",
          "  byColor: Partial<Record<palette.Color, Finish>> | null;",
          "  finishes?: ReadonlyArray<Finish> | null | undefined;",
          "export type Shade = palette.Color;",
          "export const HOUSE: palette.Color = _js_types.HOUSE as never;",
          "  pick(f: Finish, avoid: ReadonlyArray<palette.Color>): Promise<palette.Color>;",
          "  table(): Promise<Partial<Record<Finish, palette.Color>>>;",
        ]
      ) assert.ok(paint.includes(`${line}\n`), line);
      writeFileSync(usage, USAGE(dir));
      const checked = checkFiles([usage]);
      assert.equal(checked.status, 0, checked.stderr);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(usage, { force: true });
    }
  });
});
