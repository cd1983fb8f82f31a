/** The one error type users see: a message, and a hint naming what to do next. */
export class UserError extends Error {
  readonly hint: string | undefined;
  /** 1: the operation failed or was refused; 2: bad usage or configuration. */
  readonly exitCode: 1 | 2;

  constructor(message: string, options: { hint?: string; exitCode?: 1 | 2; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

export class ConfigError extends UserError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`bad configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      exitCode: 2,
      hint: 'fix the variables above in the environment or in .env (see `bluegreen init`)',
    });
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** An error's message, or what was thrown if it was not an Error. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
