/**
 * Issue 4, "How it is checked": the broker runs as a child process (the real CLI on a
 * temporary data dir); persistent subscribers go offline; publishers send 10,000 QoS 1
 * messages per round (plus a QoS 2 stream and retained updates); the broker gets SIGKILL at
 * a random moment (seeded: the seed is printed, CRASH_SEED repeats a run) and is restarted
 * on the same data dir, for several rounds; then the subscribers drain. The invariants and
 * why they are exactly these: test/helpers/crash-suite.ts and crash-ledger.ts.
 */
import { defineCrashSuite } from '../helpers/crash-suite.js';

defineCrashSuite('SIGKILL', 4);
