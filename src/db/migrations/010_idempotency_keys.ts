import { type Kysely, sql } from 'kysely';

/**
 * Idempotency-Keys claimed atomically with the append they guard. `es_append_claimed` records
 * (org, key) → (request hash, stream) and appends in the same statement, so the claim exists exactly
 * when the append committed: a concurrent request with the same key waits on the row and then either
 * matches it (same request: the append collapses into a duplicate) or is refused with CS422.
 * Keys are kept forever (the contract asks for at least 24 h).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table idempotency_keys (
      org_id uuid not null,
      key text not null,
      request_hash text not null,
      stream_id text not null,
      claimed_at timestamptz not null default clock_timestamp(),
      primary key (org_id, key)
    );

    -- es_append with an Idempotency-Key claim first; raises CS422 when (org, key) names another
    -- request or another stream. Everything else (results, CS409) is es_append's.
    create function es_append_claimed(
      p_key text, p_request_hash text,
      p_stream text, p_expected bigint, p_ids uuid[], p_types text[], p_versions int[],
      p_data jsonb[], p_meta jsonb[], p_digests text[], p_org uuid
    ) returns table (r_status text, r_revision bigint, r_commit xid8, r_position bigint)
    language plpgsql as $fn$
    declare
      v_hash text;
      v_stream text;
    begin
      -- A concurrent claimer of the same key waits here for the first one's commit or rollback.
      insert into idempotency_keys (org_id, key, request_hash, stream_id)
        values (p_org, p_key, p_request_hash, p_stream) on conflict do nothing;
      select k.request_hash, k.stream_id into v_hash, v_stream
        from idempotency_keys k where k.org_id = p_org and k.key = p_key;
      if v_hash <> p_request_hash or v_stream <> p_stream then
        raise exception 'idempotency key claimed by another request' using errcode = 'CS422';
      end if;
      return query select * from es_append(p_stream, p_expected, p_ids, p_types, p_versions, p_data, p_meta, p_digests, p_org);
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function es_append_claimed; drop table idempotency_keys;`.execute(db);
}
