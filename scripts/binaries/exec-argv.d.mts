/** Types of exec-argv.mjs (the flags baked into the executables). */
export declare const EXEC_ARGV: readonly string[];
