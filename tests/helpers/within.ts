/** A deadline on any promise, so a test fails with a message instead of hanging. */

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
