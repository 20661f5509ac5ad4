/**
 * The generator's errors: it cannot do its job, and the message says why and what to do.
 *
 * @module
 */

/** The generator cannot write usable modules (conflicting files, a module that would not resolve). */
export class GenerateError extends Error {
  /** Wraps a failure of the generator. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The compiler is missing or failed; the message says which and how to fix it. */
export class CompilerError extends GenerateError {}
