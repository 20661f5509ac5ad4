/** Deadlines for tests, so a test fails with a message instead of hanging. */
import assert from "node:assert/strict";

/** `promise`, or a rejection "`what` timed out after `ms` ms"; the timer never outlives it. */
export async function within<T>(
  what: string,
  ms: number,
  promise: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} timed out after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` every 10 ms; fails after `ms` (about 5 s by default). */
export async function until(what: string, check: () => boolean, ms = 5_000): Promise<void> {
  for (let i = 0; i < ms / 10 && !check(); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(check(), `timed out waiting until ${what}`);
}
