/** The process's exit codes: the one home of their numbers (main.ts returns them; the commands decide which). */

export const EXIT_OK = 0;
/** Something failed (a call, a state write): worth a look, and systemd restarts the daemon. */
export const EXIT_FAILURE = 1;
/** `config get`: the key is not set anywhere. */
export const EXIT_NOT_SET = 1;
/** sysexits EX_CONFIG: the unit's RestartPreventExitStatus=78 keeps systemd from restarting into the same bad config. */
export const EXIT_CONFIG = 78;
