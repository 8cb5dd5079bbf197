import { type Kysely, sql } from 'kysely';

/**
 * `es_append` with a lean path for the usual create, an append with `no_stream`: the stream row is
 * inserted already holding the head the append will leave (revision and last hash), and that insert is
 * the lock, so a new stream costs one write of its row instead of three (placeholder, `for update`, final
 * update) and no duplicate lookup (no event of a stream that did not exist can be there). When the row
 * exists (a retry, a concurrent create of the same stream, a conflict) the append takes the general path
 * unchanged, which answers `duplicate` or CS409 as before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function es_append(
      p_stream text, p_expected bigint, p_ids uuid[], p_types text[], p_versions int[],
      p_data jsonb[], p_meta jsonb[], p_digests text[], p_org uuid
    ) returns table (r_status text, r_revision bigint, r_commit xid8, r_position bigint)
    language plpgsql as $fn$
    declare
      n int := cardinality(p_ids);
      v_current bigint;
      v_hash text;
      v_hashes text[];
      v_first bigint;
      v_existing uuid[];
      v_last_pos bigint;
      v_last_tx xid8;
      v_prev text;
      i int;
    begin
      if p_expected = -1 then
        v_hash := repeat('0', 64);
        for i in 1 .. n loop
          v_hash := encode(sha256(convert_to(v_hash || p_digests[i], 'UTF8')), 'hex');
          v_hashes[i] := v_hash;
        end loop;
        -- A concurrent creator of the same stream waits here for the first one's commit or rollback.
        insert into es_streams (stream_id, revision, last_hash)
          values (p_stream, n - 1, v_hash) on conflict do nothing;
        if found then
          v_prev := repeat('0', 64);
          for i in 1 .. n loop
            insert into es_events (stream_id, stream_revision, event_id, event_type, schema_version, org_id, data, metadata, hash)
              values (p_stream, i - 1, p_ids[i], p_types[i], p_versions[i], p_org, p_data[i],
                      p_meta[i] || jsonb_build_object('prevHash', v_prev), v_hashes[i])
              returning global_position, transaction_id into v_last_pos, v_last_tx;
            v_prev := v_hashes[i];
          end loop;
          return query select 'appended'::text, (n - 1)::bigint, v_last_tx, v_last_pos;
          return;
        end if;
      end if;

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

/** Nothing to undo: the function answers every append exactly as migration 001's did; 001's `down` drops it. */
export async function down(): Promise<void> {}
