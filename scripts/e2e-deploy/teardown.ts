/**
 * A stack of cleanups that runs once, newest first, whoever asks first (the run's own
 * `finally` or a signal handler): every step runs even when an earlier one throws, and a
 * second caller waits for the same run instead of starting another.
 */
export class Teardown {
  private readonly steps: Array<{ name: string; run: () => unknown }> = [];
  private running: Promise<string[]> | undefined;

  /** Adds a cleanup; after run() started it runs right away (a resource made while tearing down). */
  add(name: string, run: () => unknown): void {
    if (this.running) {
      void this.running.then(() => run()).catch(() => undefined);
      return;
    }
    this.steps.push({ name, run });
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  /** Runs every cleanup once; resolves with the problems (`name: message`), never rejects. */
  run(): Promise<string[]> {
    this.running ??= (async () => {
      const problems: string[] = [];
      for (const step of this.steps.splice(0).reverse()) {
        try {
          await step.run();
        } catch (error) {
          problems.push(`${step.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return problems;
    })();
    return this.running;
  }
}
