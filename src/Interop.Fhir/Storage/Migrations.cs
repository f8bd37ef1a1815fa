using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>One numbered schema change; a concurrent one builds an index without blocking writers, outside a transaction.</summary>
public sealed record Migration(int Version, string Name, string Sql, bool Concurrently = false);

/// <summary>
/// The schema of the index tables as numbered migrations, recorded in fhir.interop_migrations. Applied by
/// `./interop.sh migrate` or at start (Fhir:MigrateOnStart, on by default for the private database); a start
/// against a database that has them all runs no DDL, so it never queues behind a long-running writer. A server
/// refuses a database migrated by a newer server, and, when it may not migrate itself, one that is behind.
/// </summary>
public static class Migrations
{
    private const string S = StorageSetup.Schema;
    private const long Lock = 4242001;

    public static readonly Migration[] All =
    [
        new(1, "search index tables, their indexes and statistics", SearchSchema.Ddl),
        new(2, "trigram index for :contains on uri parameters",
            $"create index concurrently if not exists ix_uri_trgm on {S}.ix_uri using gin (value gin_trgm_ops)", Concurrently: true),
        new(3, "compact keys: a bigint per resource in the index tables instead of the key's text", SearchSchema.CompactKeyDdl),
        new(4, "care relationships and consent denials, derived on write, for the group's access policy", SearchSchema.AccessDdl),
        new(5, "the access log: AuditEvents partitioned by day, append-only, hash-chained", AuditSchema.Ddl),
        new(6, "planner statistics refreshed by the server after bulk writes", PlannerStatistics.Ddl),
        new(7, "a notification when a StructureDefinition, ValueSet or CodeSystem is stored, for every server's validator", ConformanceDdl),
        new(8, "the subscription dispatcher's position in the change feed and its queue of rest-hook deliveries", SubscriptionSchema.Ddl),
        new(9, "narrow facts for the group's indicators (residents, encounters, episodes), derived on write", MeasureFacts.Ddl + PlannerStatistics.Ddl),
        new(10, "care relationships through a PractitionerRole: the role they follow", SearchSchema.RoleRelationshipDdl),
        new(11, "search parameters stored at run time: a backfill job per SearchParameter and a notification for every server", SearchParamBackfill.Ddl),
        new(12, "care relationships by institution: the policy's set of an institution's residents read from an index, not the whole table",
            $"create index concurrently if not exists care_relationship_institution on {S}.care_relationship (institution, patient_rid) include (kind, ended)", Concurrently: true),
        new(13, "the policy's consent check as a function, planned once per session instead of in every search", InstitutionAccess.DeniesDdl),
        new(14, "consent denials by institution: the policy's set of the residents with a denial for an institution",
            $"create index concurrently if not exists consent_denial_institution on {S}.consent_denial (institution, patient_rid)", Concurrently: true),
        // Migrations 1 and 3 made these two; Marten, which owns the table's indexes, dropped them at every start until
        // StorageSetup told it to leave them (IgnoreIndex). Made again where they are missing.
        new(15, "resources by type in key order (made again: Marten dropped it at start)",
            $"create index concurrently if not exists {SearchSchema.TypeRidIndex} on {S}.mt_doc_resourcedoc (resource_type, rid) where not deleted", Concurrently: true),
        new(16, "resources by type and last update (made again: Marten dropped it at start)",
            $"create index concurrently if not exists {SearchSchema.TypeUpdatedIndex} on {S}.mt_doc_resourcedoc (resource_type, last_updated) where not deleted", Concurrently: true),
        new(17, "the residents each institution wrote: the policy's set for a chain's hop onto Patient",
            $"create index concurrently if not exists {SearchSchema.PatientWriterIndex} on {S}.mt_doc_resourcedoc ((data->>'Institution')) where resource_type = 'Patient' and not deleted", Concurrently: true),
    ];

    public static int Latest => All[^1].Version;

    // Migration 7 (Validation/ConformanceListener hears it; Storage may not name the folders above it).
    private const string ConformanceDdl = $"""
        create or replace function {S}.conformance_changed() returns trigger language plpgsql as $f$
        begin
            perform pg_notify('interop_conformance', new.resource_type || '/' || new.resource_id);
            return null;
        end $f$;
        drop trigger if exists conformance_changed on {S}.mt_doc_resourcedoc;
        create trigger conformance_changed after insert or update on {S}.mt_doc_resourcedoc for each row
            when (new.resource_type in ('StructureDefinition', 'ValueSet', 'CodeSystem'))
            execute function {S}.conformance_changed();
        """;

    /// <summary>The version the database is at (0 before any migration).</summary>
    public static async Task<int> Current(NpgsqlConnection connection, CancellationToken ct)
    {
        await using (var exists = new NpgsqlCommand($"select to_regclass('{S}.interop_migrations') is not null", connection))
            if (!(bool)(await exists.ExecuteScalarAsync(ct))!) return 0;
        await using var cmd = new NpgsqlCommand($"select coalesce(max(version), 0) from {S}.interop_migrations", connection);
        return (int)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Applies the migrations the database lacks; returns them. Concurrent callers wait for one another.</summary>
    public static async Task<IReadOnlyList<Migration>> Apply(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var current = await Current(connection, ct);
        RefuseNewer(current);
        if (current == Latest) return [];
        await Exec(connection, $"select pg_advisory_lock({Lock})", ct); // one migrator at a time (several servers)
        try
        {
            current = await Current(connection, ct);
            await Exec(connection, $"create table if not exists {S}.interop_migrations (version int primary key, name text not null, applied timestamptz not null default now())", ct);
            var applied = new List<Migration>();
            foreach (var m in All.Where(m => m.Version > current))
            {
                if (m.Concurrently)
                    await Exec(connection, m.Sql, ct); // CONCURRENTLY cannot run inside a transaction
                await using var tx = await connection.BeginTransactionAsync(ct);
                if (!m.Concurrently) await Exec(connection, m.Sql, ct);
                await using (var record = new NpgsqlCommand($"insert into {S}.interop_migrations (version, name) values ($1, $2)", connection))
                {
                    record.Parameters.AddWithValue(m.Version);
                    record.Parameters.AddWithValue(m.Name);
                    await record.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
                applied.Add(m);
            }
            return applied;
        }
        finally
        {
            await Exec(connection, $"select pg_advisory_unlock({Lock})", CancellationToken.None);
        }
    }

    /// <summary>
    /// Least privilege for the server's role: it may read and write the rows of every table in the schema (fhir, or
    /// another the host owns, such as auth), also of tables later migrations create, and nothing else — no DDL, no ownership. Idempotent.
    /// </summary>
    public static async Task Grant(NpgsqlDataSource db, string role, CancellationToken ct, string schema = S)
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(schema, "^[a-z_][a-z0-9_]{0,62}$"))
            throw new ArgumentException($"'{schema}' is not a plain PostgreSQL schema name.", nameof(schema));
        if (!System.Text.RegularExpressions.Regex.IsMatch(role, "^[a-z_][a-z0-9_]{0,62}$"))
            throw new ArgumentException($"'{role}' is not a plain PostgreSQL role name.", nameof(role));
        await using var connection = await db.OpenConnectionAsync(ct);
        await Exec(connection, $"""
            revoke create on schema {schema} from public;
            grant usage on schema {schema} to {role};
            grant select, insert, update, delete on all tables in schema {schema} to {role};
            grant usage, select on all sequences in schema {schema} to {role};
            alter default privileges in schema {schema} grant select, insert, update, delete on tables to {role};
            alter default privileges in schema {schema} grant usage, select on sequences to {role}
            """, ct);
    }

    /// <summary>For a server that may not migrate: the database must be exactly at this server's version.</summary>
    public static async Task RequireCurrent(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var current = await Current(connection, ct);
        RefuseNewer(current);
        if (current < Latest)
            throw new InvalidOperationException(
                $"The database schema is at version {current}; this server needs {Latest}. Run ./interop.sh migrate (or start with Fhir:MigrateOnStart=true).");
    }

    private static void RefuseNewer(int current)
    {
        if (current > Latest)
            throw new InvalidOperationException(
                $"The database schema is at version {current}, newer than this server's {Latest}: it was migrated by a newer Interop. Run that version.");
    }

    // Index builds on a large database take minutes: no command timeout.
    private static async Task Exec(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
