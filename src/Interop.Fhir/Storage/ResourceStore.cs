using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Marten;
using JasperFx;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>Who is writing: recorded on every version (and as a meta.tag) for access policies and audit.</summary>
/// <param name="Institution">The institution the writer acts for, recorded on the version (the access policy's "what it wrote").</param>
public sealed record WriteContext(string Writer, string? Institution = null)
{
    public const string TagSystem = "urn:interop:writer";

    /// <summary>The access log: each change's record is written in the change's own transaction (null: the server's own tools).</summary>
    public IChangeAudit? Audit { get; init; }

    /// <summary>The interaction the log names for this write when the method does not say it (a PATCH stored as a new version).</summary>
    public string? Interaction { get; init; }

    /// <summary>The server's own tools (import, seed): workflow rules about how a workflow starts do not apply to what they load.</summary>
    public bool Trusted { get; init; }
}

/// <summary>
/// Create, update and delete as versioned writes, each in one database transaction (one round trip):
/// the new immutable version row and the current-state row are saved together. Two writers that compute
/// the same next version collide on the version row's primary key, so exactly one of them wins.
/// </summary>
public sealed partial class ResourceStore(IDocumentStore store, NpgsqlDataSource db, StorageOptions options, PlannerStatistics statistics, SearchParamCatalog searchParams)
{
    // Writers racing on one resource without If-Match retry on the new current version, with jitter.
    public const int MaxRetries = 30;

    [GeneratedRegex(@"^[A-Za-z0-9\-\.]{1,64}$")]
    private static partial Regex IdPattern();

    public static bool IsValidId([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? id) => id is not null && IdPattern().IsMatch(id);

    public static string NewId() => Guid.CreateVersion7().ToString();

    public Task<StoredVersion> Create(Resource resource, WriteContext context, CancellationToken ct)
    {
        resource.Id = NewId();
        return Save(resource, previous: null, "POST", context, ct);
    }

    /// <summary>Update, or create with the client's id. Returns the new version and whether it was created.</summary>
    public async Task<(StoredVersion Version, bool Created)> Update(Resource resource, int? ifMatch, WriteContext context, CancellationToken ct)
    {
        if (!IsValidId(resource.Id)) throw FhirException.BadRequest($"'{resource.Id}' is not a valid resource id ([A-Za-z0-9-.]{{1,64}}).", $"{resource.TypeName}.id");
        for (var attempt = 0; ; attempt++)
        {
            var current = await ReadCurrent(resource.TypeName, resource.Id, ct);
            CheckPrecondition(current, ifMatch, resource.TypeName, resource.Id);
            try
            {
                var saved = await Save(resource, current, "PUT", context, ct);
                return (saved, current is null || current.Deleted);
            }
            catch (Exception e) when (IsVersionCollision(e) && ifMatch is null && attempt < MaxRetries)
            {
                await Backoff(attempt, ct);
            }
            catch (Exception e) when (IsVersionCollision(e))
            {
                throw FhirException.PreconditionFailed($"{resource.TypeName}/{resource.Id} was changed by another request at the same time; read it again and retry.");
            }
        }
    }

    /// <summary>Writes a tombstone version. Returns null when the resource was already deleted.</summary>
    public async Task<StoredVersion?> Delete(string type, string id, int? ifMatch, WriteContext context, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = await ReadCurrent(type, id, ct) ?? throw FhirException.NotFound($"{type}/{id} does not exist.");
            CheckPrecondition(current, ifMatch, type, id);
            if (current.Deleted) return null;
            try
            {
                return await SaveTombstone(current, context, ct);
            }
            catch (Exception e) when (IsVersionCollision(e) && ifMatch is null && attempt < MaxRetries)
            {
                await Backoff(attempt, ct);
            }
            catch (Exception e) when (IsVersionCollision(e))
            {
                throw FhirException.PreconditionFailed($"{type}/{id} was changed by another request at the same time; read it again and retry.");
            }
        }
    }

    public static Task Backoff(int attempt, CancellationToken ct) =>
        Task.Delay(Random.Shared.Next(1, 2 + Math.Min(attempt, 10) * 3), ct);

    private static void CheckPrecondition(StoredVersion? current, int? ifMatch, string type, string id)
    {
        if (ifMatch is null) return;
        if (current is null) throw FhirException.PreconditionFailed($"If-Match: {type}/{id} does not exist.");
        if (current.VersionId != ifMatch)
            throw FhirException.PreconditionFailed($"If-Match: W/\"{ifMatch}\" is not the current version of {type}/{id} (current is W/\"{current.VersionId}\").");
    }

    public WriteBatch Begin() => new(store.LightweightSession(), searchParams.Current);

    /// <summary>After a commit of <paramref name="resources"/> versions: keeps the planner's statistics in step (bulk writes).</summary>
    public Task Committed(int resources, CancellationToken ct) => statistics.Written(resources, ct);

    /// <summary>A unit of work: one connection and transaction for reads, searches, locks and the write.</summary>
    public Task<UnitOfWork> BeginUnit(CancellationToken ct) => UnitOfWork.Begin(db, options, ct);

    public WriteBatch Begin(UnitOfWork unit) => unit.Batch(store, searchParams.Current);

    private async Task<StoredVersion> Save(Resource resource, StoredVersion? previous, string method, WriteContext context, CancellationToken ct)
    {
        await using var batch = Begin();
        var saved = batch.Put(resource, previous, method, context);
        await batch.Commit(ct);
        await Committed(1, ct);
        return saved;
    }

    private async Task<StoredVersion> SaveTombstone(StoredVersion current, WriteContext context, CancellationToken ct)
    {
        await using var batch = Begin();
        var saved = batch.Tombstone(current, context);
        await batch.Commit(ct);
        await Committed(1, ct);
        return saved;
    }

    public static bool IsVersionCollision(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            // Two writers of the same next version collide on the version row's primary key.
            if (x is DocumentAlreadyExistsException or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation }) return true;
        return false;
    }
    // ------------------------------------------------------------------ reads (raw SQL, no Marten deserialisation)

    /// <param name="unit">The unit of work to read in (its connection and transaction), or null for a pooled connection.</param>
    public async Task<StoredVersion?> ReadCurrent(string type, string id, CancellationToken ct, UnitOfWork? unit = null)
    {
        // No resource can have an id outside [A-Za-z0-9-.]{1,64}: such text never reaches a statement (a failing
        // auto-prepared statement can leave a pooled connection out of step with the server, npgsql/npgsql#6391).
        if (!IsValidId(id)) return null;
        var sql = $"select {CurrentColumns} from {StorageSetup.CurrentTable} where id = $1";
        await using var cmd = unit is null ? db.CreateCommand(sql) : new NpgsqlCommand(sql, unit.Connection);
        cmd.Parameters.AddWithValue($"{type}/{id}");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? CurrentRow(reader, type, id) : null;
    }

    private NpgsqlCommand Command(string sql, UnitOfWork? unit) => unit is null ? db.CreateCommand(sql) : new NpgsqlCommand(sql, unit.Connection);

    private const string CurrentColumns = "(data->>'VersionId')::int, last_updated, (data->>'Deleted')::boolean, data->>'Json'";

    private static StoredVersion CurrentRow(NpgsqlDataReader r, string type, string id)
    {
        var deleted = r.GetBoolean(2);
        return new StoredVersion(type, id, r.GetInt32(0), r.GetFieldValue<DateTimeOffset>(1), deleted, deleted ? "DELETE" : "PUT", r.IsDBNull(3) ? null : r.GetString(3));
    }

    /// <summary>
    /// The current version and whether the institution's access policy lets it see it. One statement when the
    /// answer is plain from the row (a type outside the compartment, or data the institution wrote); otherwise a
    /// second one evaluates the care relationships and consents (their subqueries cost the database about 0.1 ms
    /// to plan, which reads of an institution's own data need not pay).
    /// </summary>
    public async Task<(StoredVersion? Version, bool Visible)> ReadCurrent(string type, string id, InstitutionAccess policy, CancellationToken ct)
    {
        if (!IsValidId(id)) return (null, false);
        await using var cmd = db.CreateCommand(
            $"select {CurrentColumns}, data->>'Institution' from {StorageSetup.CurrentTable} where id = $1");
        cmd.Parameters.AddWithValue($"{type}/{id}");
        StoredVersion version;
        string? writer;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            if (!await reader.ReadAsync(ct)) return (null, false);
            version = CurrentRow(reader, type, id);
            writer = reader.IsDBNull(4) ? null : reader.GetString(4);
        }
        // A deletion's index rows are gone, so the policy cannot be asked: an institution sees the deletions it made.
        if (version.Deleted) return (version, !policy.Governs(type) || writer == policy.Institution);
        if (!policy.Governs(type) || writer == policy.Institution) return (version, true);
        return (version, await VisibleTo(type, id, policy, ct) == true);
    }

    /// <summary>Whether Type/id (current index rows) is in the confinement's compartment, or of a type outside it.</summary>
    public async Task<bool> InCompartment(string type, string id, PatientConfinement confinement, CancellationToken ct)
    {
        if (!confinement.Confines(type)) return true;
        if (type == "Patient" && id == confinement.PatientId) return true;
        if (!IsValidId(id)) return false;
        var parameters = new List<object>();
        string Add(object value) { parameters.Add(value); return "$" + parameters.Count; }
        await using var cmd = db.CreateCommand($"select {confinement.Condition(Add(type) + "::text", Add(CompactKeys.Rid($"{type}/{id}")) + "::bigint", Add)}");
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Whether the institution may see Type/id under the access policy; null when there is no such live resource.</summary>
    public async Task<bool?> VisibleTo(string type, string id, InstitutionAccess access, CancellationToken ct)
    {
        if (!IsValidId(id)) return null;
        var parameters = new List<object> { $"{type}/{id}" };
        string Add(object value) { parameters.Add(value); return "$" + parameters.Count; }
        await using var cmd = db.CreateCommand(
            $"select {access.Condition("r.resource_type", "r.rid", "r.data", Add)} from {StorageSetup.CurrentTable} r where r.id = $1 and not r.deleted");
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        return await cmd.ExecuteScalarAsync(ct) as bool?;
    }

    /// <summary>
    /// Whether the institution may change Type/id: it wrote the current version, or the resource is addressed to
    /// it or sent by it (a referral it performs or requested, a task it owns or requested); null when there is no
    /// such live resource. (Who may make which change of a referral task is the workflow rules' matter.)
    /// </summary>
    /// <param name="unit">The unit of work to ask in (a conditional write's), or null for a pooled connection.</param>
    public async Task<bool?> ChangeableBy(string type, string id, string institution, CancellationToken ct, UnitOfWork? unit = null)
    {
        if (!IsValidId(id)) return null;
        await using var cmd = Command(
            $"select coalesce(r.data->>'Institution' = $2, false) or exists (select 1 from {StorageSetup.Schema}.ix_reference x where x.rid = r.rid " +
            "and x.rtype in ('ServiceRequest', 'Task') and x.param in ('performer', 'owner', 'requester') and x.target_rid = $3) " +
            $"from {StorageSetup.CurrentTable} r where r.id = $1 and not r.deleted", unit);
        cmd.Parameters.AddWithValue($"{type}/{id}");
        cmd.Parameters.AddWithValue(institution);
        cmd.Parameters.AddWithValue(CompactKeys.Rid(institution));
        return await cmd.ExecuteScalarAsync(ct) as bool?;
    }

    /// <summary>The patients (ids) among these the institution has a care relationship with.</summary>
    public async Task<HashSet<string>> CaredFor(IReadOnlyCollection<string> patientIds, InstitutionAccess access, CancellationToken ct, UnitOfWork? unit = null)
    {
        var ids = patientIds.Where(IsValidId).Distinct().ToArray();
        if (ids.Length == 0) return [];
        await using var cmd = Command(
            $"select p.id from unnest($1::text[]) as p(id) where exists (select 1 from {StorageSetup.Schema}.care_relationship cr " +
            $"where cr.patient_rid = {StorageSetup.Schema}.key_rid('Patient/' || p.id) and cr.institution = $2 " +
            "and (cr.ended is null or (cr.kind in ('referral', 'encounter') and cr.ended > $3)))", unit);
        cmd.Parameters.AddWithValue(ids);
        cmd.Parameters.AddWithValue(access.Institution);
        cmd.Parameters.AddWithValue(access.Since);
        var result = new HashSet<string>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add(reader.GetString(0));
        return result;
    }

    public async Task<StoredVersion?> ReadVersion(string type, string id, int version, CancellationToken ct)
    {
        if (!IsValidId(id)) return null;
        await using var cmd = db.CreateCommand($"select {VersionColumns} from {StorageSetup.VersionTable} where id = $1");
        cmd.Parameters.AddWithValue($"{type}/{id}/{version}");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadVersionRow(reader) : null;
    }

    private const string VersionColumns =
        "resource_type, data->>'ResourceId', (data->>'VersionId')::int, last_updated, (data->>'Deleted')::boolean, data->>'Method', data->>'Json'";

    private static StoredVersion ReadVersionRow(NpgsqlDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetFieldValue<DateTimeOffset>(3), r.GetBoolean(4), r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6));

    /// <summary>
    /// One page of history, newest first. <paramref name="query"/>.Snapshot bounds the set so that writes made
    /// after the first page cannot shift later pages, and each page continues after the last row of the one before
    /// (keyset paging: no entry skipped or repeated, and no OFFSET scanning past the earlier pages).
    /// </summary>
    public async Task<HistoryPage> History(HistoryQuery query, CancellationToken ct)
    {
        var where = new List<string> { "last_updated <= $1" };
        var parameters = new List<object> { query.Snapshot };
        string Add(object value) { parameters.Add(value); return "$" + parameters.Count; }
        if (query.Since is { } since) where.Add($"last_updated >= {Add(since)}");
        if (query.Type is { } type && query.Id is { } id) where.Add($"key = {Add($"{type}/{id}")}");
        else if (query.Type is { } onlyType) where.Add($"resource_type = {Add(onlyType)}");
        if (query.Confinement is { } confinement) where.Add(confinement.Condition("resource_type", $"{StorageSetup.Schema}.key_rid(key)", Add));
        if (query.Policy is { } policy) where.Add(policy.Condition("resource_type", $"{StorageSetup.Schema}.key_rid(key)", "data", Add));
        var forward = query.After?.Forward ?? true;
        var (op, dir) = forward ? ("<", "desc") : (">", "asc");
        if (query.After is { } after)
            where.Add(query.Id is not null
                ? $"(data->>'VersionId')::int {op} {Add(after.Version)}"
                : $"(last_updated, id) {op} ({Add(after.LastUpdated)}, {Add(after.RowId)})");
        var order = query.Id is not null ? $"(data->>'VersionId')::int {dir}" : $"last_updated {dir}, id {dir}";
        var sql = $"select {VersionColumns}, id from {StorageSetup.VersionTable} where {string.Join(" and ", where)} " +
                  $"order by {order} limit {Add(query.Count + 1)}";
        await using var cmd = db.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        var rows = new List<(StoredVersion Version, string RowId)>();
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) rows.Add((ReadVersionRow(reader), reader.GetString(7)));
        var more = rows.Count > query.Count;
        if (more) rows.RemoveAt(rows.Count - 1);
        if (!forward) rows.Reverse();
        HistoryCursor? next = null, previous = null;
        if (rows.Count > 0)
        {
            if (forward ? more : true) next = new HistoryCursor(true, rows[^1].Version.LastUpdated, rows[^1].RowId, rows[^1].Version.VersionId);
            if (forward ? query.After is not null : more) previous = new HistoryCursor(false, rows[0].Version.LastUpdated, rows[0].RowId, rows[0].Version.VersionId);
        }
        return new HistoryPage(rows.Select(r => r.Version).ToList(), next, previous);
    }
}

public sealed record HistoryQuery(string? Type, string? Id, DateTimeOffset? Since, DateTimeOffset Snapshot, HistoryCursor? After, int Count)
{
    /// <summary>Set by the authorise stage for a patient-scoped caller: only that patient's compartment is listed.</summary>
    public PatientConfinement? Confinement { get; set; }
    /// <summary>Set by the authorise stage for an institution: only what the access policy lets it see is listed.</summary>
    public InstitutionAccess? Policy { get; set; }
}

/// <summary>Where a history page ended (going on to older entries) or began (going back to newer ones).</summary>
public sealed record HistoryCursor(bool Forward, DateTimeOffset LastUpdated, string RowId, int Version)
{
    public string Encode() => Formats.Base64Url.Encode(System.Text.Encoding.UTF8.GetBytes($"{(Forward ? 'n' : 'p')}|{LastUpdated.UtcTicks}|{Version}|{RowId}"));

    public static HistoryCursor? Decode(string text)
    {
        if (Formats.Base64Url.Decode(text) is not { } bytes) return null;
        var parts = System.Text.Encoding.UTF8.GetString(bytes).Split('|', 4);
        return parts.Length == 4 && parts[0] is "n" or "p" && long.TryParse(parts[1], out var ticks) && int.TryParse(parts[2], out var version)
               && ticks is > 0 and < 3155378975999999999 && Errors.FhirText.BadCharacter(parts[3]) < 0
            ? new HistoryCursor(parts[0] == "n", new DateTimeOffset(ticks, TimeSpan.Zero), parts[3], version) : null;
    }
}

public sealed record HistoryPage(IReadOnlyList<StoredVersion> Entries, HistoryCursor? Next, HistoryCursor? Previous);
