import { type Kysely, sql } from 'kysely';

/**
 * Group commit: `es_append_batch` runs several appends (each as `es_append`, or `es_append_claimed` when
 * it names an Idempotency-Key) in one statement and so one transaction and one WAL flush. Each append
 * keeps its own expected-revision check and answer: one that conflicts (CS409) or whose key is taken
 * (CS422) is rolled back alone, in its own subtransaction, and reported in its row; the others commit.
 * Callers keep batches small (subtransactions past 64 per transaction slow every snapshot).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- p_batch: [{stream, expected, ids, types, versions, data, meta, digests, org, key?, requestHash?}]
    -- Returns one row per append, in order: r_status 'appended' | 'duplicate' | 'CS409' | 'CS422'
    -- (r_detail: the error's DETAIL, for CS409 the stream's actual revision).
    create function es_append_batch(p_batch jsonb)
    returns table (r_index int, r_status text, r_revision bigint, r_commit xid8, r_position bigint, r_detail text)
    language plpgsql as $fn$
    declare
      v_item jsonb;
      v_index int := 0;
      v_ids uuid[];
      v_types text[];
      v_versions int[];
      v_data jsonb[];
      v_meta jsonb[];
      v_digests text[];
      v_row record;
      v_state text;
      v_detail text;
    begin
      for v_item in select value from jsonb_array_elements(p_batch) loop
        v_ids := array(select jsonb_array_elements_text(v_item->'ids'))::uuid[];
        v_types := array(select jsonb_array_elements_text(v_item->'types'));
        v_versions := array(select jsonb_array_elements_text(v_item->'versions'))::int[];
        v_data := array(select jsonb_array_elements(v_item->'data'));
        v_meta := array(select jsonb_array_elements(v_item->'meta'));
        v_digests := array(select jsonb_array_elements_text(v_item->'digests'));
        begin
          if v_item ? 'key' then
            select * into v_row from es_append_claimed(v_item->>'key', v_item->>'requestHash', v_item->>'stream',
              (v_item->>'expected')::bigint, v_ids, v_types, v_versions, v_data, v_meta, v_digests, (v_item->>'org')::uuid);
          else
            select * into v_row from es_append(v_item->>'stream', (v_item->>'expected')::bigint,
              v_ids, v_types, v_versions, v_data, v_meta, v_digests, (v_item->>'org')::uuid);
          end if;
          r_index := v_index; r_status := v_row.r_status; r_revision := v_row.r_revision;
          r_commit := v_row.r_commit; r_position := v_row.r_position; r_detail := null;
        exception when sqlstate 'CS409' or sqlstate 'CS422' then
          get stacked diagnostics v_state = returned_sqlstate, v_detail = pg_exception_detail;
          r_index := v_index; r_status := v_state; r_revision := null; r_commit := null; r_position := null; r_detail := v_detail;
        end;
        return next;
        v_index := v_index + 1;
      end loop;
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function es_append_batch;`.execute(db);
}
