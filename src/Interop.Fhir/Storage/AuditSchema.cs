using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// The access log's tables (schema audit): events partitioned by UTC day, append-only by trigger; the head of each
/// lane's hash chain; the signed checkpoints retention leaves. Partitions are made ahead of time by a function that
/// runs with its owner's rights, so the server's role needs no DDL.
/// </summary>
public static class AuditSchema
{
    private const string A = AuditRows.Schema;

    public static readonly string Ddl = $$"""
        create schema if not exists {{A}};
        create table if not exists {{A}}.event (
            id uuid not null,
            recorded timestamptz not null,
            lane smallint not null,
            pos bigint not null,
            hash bytea not null,
            patients text[] not null,
            entities text[] not null,
            agents text[] not null,
            agent_org text,
            action text not null,
            subtype text not null,
            outcome smallint not null,
            purpose text[] not null,
            type text not null,
            source text not null,
            doc text compression lz4 not null
        ) partition by range (recorded);
        -- What auditors search by, in one array for one GIN index (instead of one per column): p: patients,
        -- e: entities, a: agents, o: the institution. Written by the server with the columns it is made of, and
        -- covered by the record's hash like them.
        alter table {{A}}.event add column if not exists keys text[] not null;

        -- Reads by id find their partition and row through (recorded, id): a record's id is a UUIDv7 of its time.
        -- The GIN index keeps a small pending list, so a search of today's partition does not read megabytes of it.
        create index if not exists event_recorded on {{A}}.event (recorded, id);
        create index if not exists event_keys on {{A}}.event using gin (keys) with (gin_pending_list_limit = 256);
        create index if not exists event_purpose on {{A}}.event (recorded) where purpose <> '{}';

        -- One hash chain per UTC day and lane: a day's records are removed (retention) only with their whole chains.
        create table if not exists {{A}}.chain_head (day date not null, lane smallint not null, pos bigint not null, hash bytea not null, primary key (day, lane));

        create table if not exists {{A}}.checkpoint (
            before timestamptz primary key,
            made timestamptz not null default now(),
            removed bigint not null,
            heads jsonb not null,
            signature text not null);

        create or replace function {{A}}.refuse() returns trigger language plpgsql as $f$
        begin
            raise exception 'the access log is append-only: % refused (retention drops whole days: ./interop.sh audit purge)', tg_op
                using errcode = 'insufficient_privilege';
        end $f$;
        drop trigger if exists append_only on {{A}}.event;
        drop trigger if exists append_only_truncate on {{A}}.event;
        create trigger append_only before update or delete on {{A}}.event for each row execute function {{A}}.refuse();
        create trigger append_only_truncate before truncate on {{A}}.event for each statement execute function {{A}}.refuse();

        create or replace function {{A}}.ensure_partition(day date) returns void language plpgsql security definer
            set search_path = pg_catalog, pg_temp as $f$
        declare
            name text := 'event_' || to_char(day, 'YYYYMMDD');
        begin
            perform pg_advisory_xact_lock(4242010);
            if to_regclass('{{A}}.' || name) is null then
                execute format('create table {{A}}.%I partition of {{A}}.event for values from (%L) to (%L)', name,
                    day::timestamp at time zone 'UTC', (day + 1)::timestamp at time zone 'UTC');
                execute format('create trigger append_only_truncate before truncate on {{A}}.%I for each statement execute function {{A}}.refuse()', name);
            end if;
        end $f$;
        """;

    /// <summary>The server's role may add records and read them, move a lane's head, and make partitions; never change or remove a record.</summary>
    public static async Task Grant(NpgsqlDataSource db, string role, CancellationToken ct)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(role, "^[a-z_][a-z0-9_]{0,62}$"))
            throw new ArgumentException($"'{role}' is not a plain PostgreSQL role name.", nameof(role));
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"""
            revoke create on schema {A} from public;
            grant usage on schema {A} to {role};
            grant select, insert on {A}.event to {role};
            grant select, insert, update on {A}.chain_head to {role};
            grant select on {A}.checkpoint to {role};
            grant execute on function {A}.ensure_partition(date) to {role}
            """, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Makes the partitions of the days from <paramref name="from"/> on (idempotent, safe with several servers).</summary>
    public static async Task EnsurePartitions(NpgsqlDataSource db, DateOnly from, int days, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand($"select {A}.ensure_partition(d::date) from generate_series($1::date, $1::date + $2, interval '1 day') d", connection);
        cmd.Parameters.AddWithValue(from);
        cmd.Parameters.AddWithValue(days - 1);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
