import { type Kysely, sql } from 'kysely';

/**
 * The PostgreSQL event store. Readers follow (transaction_id, global_position) and only read rows
 * whose transaction is older than every transaction still running (pg_snapshot_xmin), so a row that
 * commits late can never appear behind a checkpoint (the bigserial gap problem).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table es_streams (
      stream_id text primary key,
      revision bigint not null,
      last_hash text not null
    );

    create table es_events (
      global_position bigint generated always as identity primary key,
      transaction_id xid8 not null default pg_current_xact_id(),
      stream_id text not null,
      stream_revision bigint not null,
      event_id uuid not null,
      event_type text not null,
      schema_version int not null,
      org_id uuid,
      data jsonb not null,
      metadata jsonb not null,
      hash text not null,
      recorded_at timestamptz not null default clock_timestamp(),
      constraint es_events_stream_revision unique (stream_id, stream_revision),
      constraint es_events_stream_event_id unique (stream_id, event_id)
    );
    create index es_events_order on es_events (transaction_id, global_position);
    create index es_events_org_order on es_events (org_id, transaction_id, global_position);

    -- Appends a batch to one stream atomically, in one round trip.
    -- p_expected: >= 0 exact revision, -1 no stream, -2 any, -3 stream exists.
    -- Re-appending the same event ids at the same place writes nothing and reports 'duplicate';
    -- any other mismatch raises CS409 with the actual revision in DETAIL.
    create function es_append(
      p_stream text, p_expected bigint, p_ids uuid[], p_types text[], p_versions int[],
      p_data jsonb[], p_meta jsonb[], p_digests text[], p_org uuid
    ) returns table (r_status text, r_revision bigint, r_commit xid8, r_position bigint)
    language plpgsql as $fn$
    declare
      n int := cardinality(p_ids);
      v_current bigint;
      v_hash text;
      v_first bigint;
      v_existing uuid[];
      v_last_pos bigint;
      v_last_tx xid8;
      v_prev text;
      i int;
    begin
      insert into es_streams (stream_id, revision, last_hash)
        values (p_stream, -1, repeat('0', 64)) on conflict do nothing;
      select s.revision, s.last_hash into v_current, v_hash
        from es_streams s where s.stream_id = p_stream for update;

      select e.stream_revision into v_first from es_events e
        where e.stream_id = p_stream and e.event_id = p_ids[1];
      if found then
        select array_agg(e.event_id order by e.stream_revision) into v_existing from es_events e
          where e.stream_id = p_stream and e.stream_revision between v_first and v_first + n - 1;
        if v_existing = p_ids and (p_expected < 0 or v_first = p_expected + 1) then
          select e.transaction_id, e.global_position into v_last_tx, v_last_pos from es_events e
            where e.stream_id = p_stream and e.stream_revision = v_first + n - 1;
          return query select 'duplicate'::text, v_first + n - 1, v_last_tx, v_last_pos;
          return;
        end if;
        raise exception 'wrong expected revision' using errcode = 'CS409', detail = v_current::text;
      end if;

      if (p_expected = -1 and v_current <> -1)
         or (p_expected = -3 and v_current = -1)
         or (p_expected >= 0 and v_current <> p_expected) then
        raise exception 'wrong expected revision' using errcode = 'CS409', detail = v_current::text;
      end if;

      for i in 1 .. n loop
        v_prev := v_hash;
        v_hash := encode(sha256(convert_to(v_prev || p_digests[i], 'UTF8')), 'hex');
        insert into es_events (stream_id, stream_revision, event_id, event_type, schema_version, org_id, data, metadata, hash)
          values (p_stream, v_current + i, p_ids[i], p_types[i], p_versions[i], p_org, p_data[i],
                  p_meta[i] || jsonb_build_object('prevHash', v_prev), v_hash)
          returning global_position, transaction_id into v_last_pos, v_last_tx;
      end loop;

      update es_streams set revision = v_current + n, last_hash = v_hash where stream_id = p_stream;
      -- No NOTIFY here: it would take the cluster-wide notify lock until commit and serialise every
      -- append. The appending process announces after commit instead (src/eventstore/postgres/notifier.ts).
      return query select 'appended'::text, v_current + n, v_last_tx, v_last_pos;
    end
    $fn$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop function es_append; drop table es_events; drop table es_streams;`.execute(db);
}
