import { type Kysely, sql } from 'kysely';

/**
 * `apply_job_intents(intents jsonb, max_attempts int)`: the process manager's intents of one batch in one
 * statement, applied in order through graphile-worker's documented SQL API (`add_job` with
 * `job_key_mode => 'replace'`, `remove_job`), exactly as one call each would, in the caller's transaction.
 * A batch of a few hundred events was a few hundred round trips inside the checkpoint's transaction.
 * PL/pgSQL resolves `graphile_worker` when called, so this may exist before the job queue's schema does.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function apply_job_intents(p_intents jsonb, p_max_attempts int) returns int
    language plpgsql as $fn$
    declare
      v_intent jsonb;
      n int := 0;
    begin
      for v_intent in select value from jsonb_array_elements(p_intents) with ordinality order by ordinality loop
        if v_intent->>'op' = 'remove' then
          perform graphile_worker.remove_job(v_intent->>'key');
        else
          perform graphile_worker.add_job(
            v_intent->>'task',
            (v_intent->'payload')::json,
            run_at => (v_intent->>'runAt')::timestamptz,
            max_attempts => p_max_attempts,
            job_key => v_intent->>'key',
            job_key_mode => 'replace'
          );
        end if;
        n := n + 1;
      end loop;
      return n;
    end
    $fn$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function if exists apply_job_intents(jsonb, int)`.execute(db);
}
