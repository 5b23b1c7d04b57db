import type { Knex } from 'knex';

/**
 * Idempotency-Key claims get a lease: `lease_until` is pushed forward while the request runs; a
 * `running` claim whose lease ran out (its API process died, or could not release it during an
 * outage) may be taken over by a retry. `claim_token` names the claim, so only its owner finishes it.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.timestamp('lease_until', { useTz: true }).notNullable().defaultTo(knex.raw(`now() + interval '30 seconds'`));
    t.text('claim_token');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('lease_until');
    t.dropColumn('claim_token');
  });
}
