
/**
 * Was: drop `employees.failed_login_count` (written on every sign-in and never read: the sign-in
 * throttle counts attempts in `rate_limits`). Release 0.1.0 still writes it, and it serves beside
 * this release during a rolling upgrade, so dropping it here broke every 0.1.0 sign-in
 * (test/upgrade-compat.test.ts). The drop is now a *contract* step for the release after next
 * (docs/deployment.md, "Pending contract steps"); this migration keeps its name so databases that
 * ran it stay consistent, and 20261202500000_restore_failed_login_count puts the column back there.
 */
export async function up(): Promise<void> {}

export async function down(): Promise<void> {}
