using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// Makes a SearchParameter stored at run time usable on every server. A trigger (migration 11) records a job for each
/// write of a SearchParameter and notifies every server, which reloads its <see cref="SearchParamCatalog"/> (from then on
/// its writes index the parameter). One server — whichever takes the job's advisory lock — indexes the resources stored
/// before, in batches (<see cref="Reindexer.IndexParameter"/>), recording its position after each so another server
/// resumes where it stopped; then once more those written since the job began (a write prepared by a server that had
/// not heard yet). Then the job is ready, and searches with the parameter are answered. A deleted SearchParameter's
/// index rows are removed the same way. Every server looks for open jobs at start, when notified, and every 30 s.
/// </summary>
public sealed class SearchParamBackfill(NpgsqlDataSource db, SearchParamCatalog catalog, Reindexer reindexer, ILogger<SearchParamBackfill> log) : BackgroundService
{
    public const string Channel = "interop_search_params";
    private const string S = StorageSetup.Schema;
    private const int LockSpace = 4242010, BatchSize = 500;
    // A write prepared before a server heard of the parameter carries a lastUpdated from before the job began.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private readonly SemaphoreSlim _wake = new(0);

    /// <summary>Loads the stored parameters before the server takes requests (after the migrations, registered before this).</summary>
    public override async Task StartAsync(CancellationToken ct)
    {
        await catalog.Reload(ct);
        await base.StartAsync(ct);
    }

    /// <summary>Looks for open jobs now (a SearchParameter was written on this server).</summary>
    public void Wake() => _wake.Release();

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        var listening = PgListener.Run(db, Channel, _ => { catalog.Changed(); Wake(); }, () => { catalog.Changed(); Wake(); }, log, ct);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RunOpenJobs(ct);
                await _wake.WaitAsync(TimeSpan.FromSeconds(30), ct);
                while (_wake.CurrentCount > 0) await _wake.WaitAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Search parameter backfill failed; retrying in 5 s");
                try { await Task.Delay(TimeSpan.FromSeconds(5), ct); } catch (OperationCanceledException) { break; }
            }
        }
        await listening;
    }

    private async Task RunOpenJobs(CancellationToken ct)
    {
        var open = new List<string>();
        await using (var cmd = db.CreateCommand($"select id from {S}.search_param_job where state in ('indexing', 'removing') order by began"))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) open.Add(reader.GetString(0));
        foreach (var id in open)
        {
            // The lock is the connection's: a server that stops or crashes releases it, and another resumes the job.
            await using var connection = await db.OpenConnectionAsync(ct);
            await using (var take = new NpgsqlCommand("select pg_try_advisory_lock($1, hashtext($2))", connection))
            {
                take.Parameters.AddWithValue(LockSpace);
                take.Parameters.AddWithValue(id);
                if (!(bool)(await take.ExecuteScalarAsync(ct))!) continue;
            }
            try
            {
                await Run(id, ct);
            }
            finally
            {
                await using var release = new NpgsqlCommand("select pg_advisory_unlock($1, hashtext($2))", connection);
                release.Parameters.AddWithValue(LockSpace);
                release.Parameters.AddWithValue(id);
                await release.ExecuteNonQueryAsync(CancellationToken.None);
            }
        }
    }

    private sealed record Job(int Version, string State, string? Code, string[] Bases, string? OldCode, string[] OldBases,
        int BaseAt, long AfterRid, short Pass, long Indexed, long Total, DateTimeOffset Began);

    private async Task<Job?> Read(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"select version, state, code, bases, old_code, old_bases, base_at, after_rid, pass, indexed, total, began from {S}.search_param_job where id = $1");
        cmd.Parameters.AddWithValue(id);
        await using var r = await cmd.ExecuteReaderAsync(ct);
        if (!await r.ReadAsync(ct)) return null;
        return new Job(r.GetInt32(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetFieldValue<string[]>(3),
            r.IsDBNull(4) ? null : r.GetString(4), r.GetFieldValue<string[]>(5), r.GetInt32(6), r.GetInt64(7), r.GetInt16(8),
            r.GetInt64(9), r.GetInt64(10), r.GetFieldValue<DateTimeOffset>(11));
    }

    private async Task Run(string id, CancellationToken ct)
    {
        var job = await Read(id, ct);
        if (job is null || job.State is not ("indexing" or "removing")) return; // another server finished it meanwhile
        await catalog.Reload(ct);
        var known = catalog.Current;

        // Rows of a definition that no longer holds (deleted, or the code or bases changed), unless another parameter has that name.
        var (staleCode, staleBases) = job.State == "removing" ? (job.Code, job.Bases) : (job.OldCode, job.OldBases);
        if (staleCode is not null)
            foreach (var type in staleBases.Where(t => known.Find(t, staleCode) is null))
            {
                var removed = await reindexer.RemoveParameter(type, staleCode, ct);
                log.LogInformation("Search parameter {Code} of {Type} (SearchParameter/{Id}) removed: {Rows} index rows", staleCode, type, id, removed);
            }
        if (job.State == "removing")
        {
            await Finish(id, job.Version, "removed", ct);
            return;
        }
        if (!await Update(id, job.Version, "old_code = null, old_bases = '{}'", [], ct)) return;

        if (job.Total == 0 && job.Pass == 1 && job.BaseAt == 0 && job.Indexed == 0)
        {
            // A new version may have changed the type: rows of the code in another table than the current type's go.
            foreach (var type in job.Bases)
                if (job.Code is not null && known.Find(type, job.Code) is { } current && (current.DefinedBy ?? id) == id)
                    await reindexer.RemoveParameter(type, job.Code, ct, keep: SearchSchema.Tables[(int)current.Table]);
            await using var count = db.CreateCommand($"update {S}.search_param_job set total = (select count(*) from {StorageSetup.CurrentTable} where resource_type = any($2) and not deleted) where id = $1 and version = $3");
            count.Parameters.AddWithValue(id);
            count.Parameters.AddWithValue(job.Bases);
            count.Parameters.AddWithValue(job.Version);
            await count.ExecuteNonQueryAsync(ct);
        }
        var (pass, baseAt, after, indexed) = (job.Pass, job.BaseAt, job.AfterRid, job.Indexed);
        for (; pass <= 2; pass++, baseAt = 0, after = long.MinValue)
        {
            DateTimeOffset? since = pass == 2 ? job.Began - Settle : null;
            for (; baseAt < job.Bases.Length; baseAt++, after = long.MinValue)
            {
                var param = job.Code is null ? null : known.Find(job.Bases[baseAt], job.Code);
                if (param is null || param.DefinedBy is { } owner && owner != id) continue; // not indexable here (refused when stored)
                while (true)
                {
                    var (read, next) = await reindexer.IndexParameter(param, after, since, BatchSize, ct);
                    if (next is not { } last) break;
                    after = last;
                    if (pass == 1) indexed += read;
                    if (!await Update(id, job.Version, "pass = $3, base_at = $4, after_rid = $5, indexed = $6", [pass, baseAt, after, indexed], ct)) return; // a newer version took over
                }
            }
            if (!await Update(id, job.Version, "pass = $3, base_at = 0, after_rid = $4", [(short)Math.Min(pass + 1, 2), long.MinValue], ct)) return;
        }
        await Finish(id, job.Version, "ready", ct);
        log.LogInformation("Search parameter {Code} (SearchParameter/{Id}) indexed for {Count} existing resources of {Bases}", job.Code, id, indexed, string.Join(", ", job.Bases));
    }

    // Records progress of this version of the job; false when the SearchParameter changed since (the job was reset).
    private async Task<bool> Update(string id, int version, string assignments, object[] values, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"update {S}.search_param_job set {assignments} where id = $1 and version = $2");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(version);
        foreach (var value in values) cmd.Parameters.AddWithValue(value);
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    private async Task Finish(string id, int version, string state, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"update {S}.search_param_job set state = $3, finished = now() where id = $1 and version = $2 and state <> $3 returning pg_notify('{Channel}', id)");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(version);
        cmd.Parameters.AddWithValue(state);
        await cmd.ExecuteNonQueryAsync(ct);
        await catalog.Reload(ct);
    }

    // Migration 11.
    public const string Ddl = $$"""
        create table if not exists {{S}}.search_param_job (
            id text primary key,                 -- the SearchParameter's id
            version int not null,                -- the version the job is for; a new version resets it
            state text not null,                 -- indexing | ready | removing | removed
            code text,
            bases text[] not null default '{}',
            old_code text,                       -- a previous definition whose rows are to be removed
            old_bases text[] not null default '{}',
            pass smallint not null default 1,    -- 1: every resource of the bases; 2: those written since the job began
            base_at int not null default 0,
            after_rid bigint not null default -9223372036854775808,
            indexed bigint not null default 0,
            total bigint not null default 0,
            began timestamptz not null default now(),
            finished timestamptz);
        create or replace function {{S}}.search_param_changed() returns trigger language plpgsql as $f$
        declare
            body jsonb;
            v int := (new.data->>'VersionId')::int;
        begin
            if new.deleted then
                update {{S}}.search_param_job set version = v, state = 'removing', began = now(), finished = null where id = new.resource_id;
            else
                body := (new.data->>'Json')::jsonb;
                insert into {{S}}.search_param_job as j (id, version, state, code, bases)
                values (new.resource_id, v, 'indexing', body->>'code', array(select jsonb_array_elements_text(coalesce(body->'base', '[]'::jsonb))))
                on conflict (id) do update set version = excluded.version, state = 'indexing',
                    old_code = case when j.state in ('removing', 'removed') then j.old_code
                                    when j.code is distinct from excluded.code or j.bases is distinct from excluded.bases then j.code else j.old_code end,
                    old_bases = case when j.state in ('removing', 'removed') then j.old_bases
                                     when j.code is distinct from excluded.code or j.bases is distinct from excluded.bases then j.bases else j.old_bases end,
                    code = excluded.code, bases = excluded.bases, pass = 1, base_at = 0, after_rid = -9223372036854775808,
                    indexed = 0, total = 0, began = now(), finished = null;
            end if;
            perform pg_notify('{{Channel}}', new.resource_id);
            return null;
        end $f$;
        drop trigger if exists search_param_changed on {{S}}.mt_doc_resourcedoc;
        create trigger search_param_changed after insert or update on {{S}}.mt_doc_resourcedoc for each row
            when (new.resource_type = 'SearchParameter')
            execute function {{S}}.search_param_changed();
        insert into {{S}}.search_param_job (id, version, state, code, bases)
            select resource_id, (data->>'VersionId')::int, 'indexing', (data->>'Json')::jsonb->>'code',
                   array(select jsonb_array_elements_text(coalesce((data->>'Json')::jsonb->'base', '[]'::jsonb)))
            from {{S}}.mt_doc_resourcedoc where resource_type = 'SearchParameter' and not deleted
            on conflict (id) do nothing;
        """;
}
