/**
 * Issue 4, "Same again with SIGTERM": the crash test of crash-kill9.test.ts with a graceful
 * stop (SIGTERM at a random moment while publishes are in flight) instead of kill -9. The
 * stop must end with exit code 0 and lose nothing that was acknowledged.
 */
import { defineCrashSuite } from '../helpers/crash-suite.js';

defineCrashSuite('SIGTERM', 3);
