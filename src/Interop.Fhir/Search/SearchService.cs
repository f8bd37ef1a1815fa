using System.Globalization;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Interop.Fhir.Model;
using Interop.Fhir.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Interop.Fhir.Search;

public sealed record SearchHit(StoredVersion Version, bool Included);

public sealed record SearchResult(
    IReadOnlyList<SearchHit> Hits, int? Total, Cursor? Next, Cursor? Previous, IReadOnlyList<string> Warnings);

/// <summary>
/// Runs a search: one SQL query for the page (keyset-paged on the sort keys plus the resource key, so pages
/// neither skip nor repeat rows while data changes), then one query per include level.
/// </summary>
public sealed class SearchService([FromKeyedServices(StorageSetup.SearchDatabase)] NpgsqlDataSource db)
{
    /// <summary>Included resources per search at most; past it an OperationOutcome warning says so.</summary>
    public int MaxIncluded { get; init; } = 1000;

    /// <param name="unit">The unit of work to search in (conditional matches inside a write), or null for the search pool.</param>
    public async Task<SearchResult> Search(SearchQuery query, string baseUrl, bool countOnly, CancellationToken ct, UnitOfWork? unit = null)
    {
        var warnings = new List<string>(query.Warnings);
        var p = new SqlParams();
        var sql = new SearchSql(p, query.Policy, query.Confinement);
        var criteria = QueryRewriters.Apply(query.Criteria, baseUrl);
        string? confined = null;
        if (query.Confinement is { } confinement)
        {
            // One type of the compartment: its membership is one more index lookup (the fast path stays); the
            // Patient type, or several types, take the general condition.
            if (query.Types is [var only] && only != "Patient" && confinement.Members.TryGetValue(only, out var members))
                criteria = [.. criteria, new CompartmentCriterion(members, confinement.PatientKey)];
            else if (query.Types.Count == 0 || query.Types.Any(confinement.Confines))
                confined = confinement.Condition("r.resource_type", "r.rid", v => p.Add(v));
        }
        if (query.Policy is { } policy && (query.Types.Count == 0 || query.Types.Any(policy.Governs)))
        {
            var allowed = query.Types is [var one] ? policy.ConditionFor(one, "r.rid", "r.data", v => p.Add(v))
                : policy.Condition("r.resource_type", "r.rid", "r.data", v => p.Add(v));
            confined = confined is null ? allowed : $"{confined} and {allowed}";
        }
        var filter = Where(query.Types, criteria, sql, p);
        if (confined is not null) filter = filter with { Where = $"{filter.Where} and {confined}", RowWhere = $"{filter.RowWhere} and {confined}" };
        var where = filter.Where;

        int? total = null;
        if (countOnly || query.Total == TotalMode.Accurate) total = await Count(where, p, unit, ct);
        else if (query.Total == TotalMode.Estimate) total = await Estimate(where, p, unit, ct);
        if (countOnly) return new SearchResult([], total, null, null, warnings);

        // Sort keys (plus the key as the last tie-breaker) drive both ORDER BY and the keyset condition.
        var forward = query.Cursor?.Forward ?? true;
        var keys = query.Sort.Select(k => (Sql: sql.SortExpression(k, "r", out var type), Type: type, k.Descending)).ToList();
        keys.Add(("r.rid", "bigint", false)); // the compact key: unique, and what the index rows carry
        string pageWhere;
        if (filter.KeySet is null || query.Sort.Count > 0)
            pageWhere = query.Cursor is { } cursor ? $"{where} and {Keyset(keys, cursor, p)}" : where;
        else
        {
            // Ordered by key alone and every criterion is an index lookup: take the page's keys from the index
            // rows (sorted, limited, the cursor applied there) and read only those resources. Keys that may not be
            // live resources (reference targets, from _has) are checked before the limit.
            var (op, dir) = forward ? (">", "asc") : ("<", "desc");
            if (query.Cursor is { Values.Count: > 0 } || query.Cursor is { } bad && !long.TryParse(bad.Key, out _))
                throw Errors.FhirException.BadRequest("_cursor does not belong to this search (its sort differs).", "_cursor");
            var after = query.Cursor is { } c ? $" where k.key {op} {p.Add(long.Parse(c.Key, CultureInfo.InvariantCulture))}" : "";
            var live = filter.VerifyKeys ? $" join {SearchSql.ResourceTable} v on v.rid = k.key and v.resource_type = {p.Add(query.Types[0])} and not v.deleted" : "";
            pageWhere = $"{filter.RowWhere} and r.rid in (select distinct k.key from ({filter.KeySet}) as k(key){live}{after} order by 1 {dir} limit {p.Add(query.Count + 1)})";
        }
        var order = string.Join(", ", keys.Select((k, i) => $"s{i} {((k.Descending ^ !forward) ? "desc" : "asc")}"));
        var select = string.Join(", ", keys.Select((k, i) => $"({k.Sql}) as s{i}"));
        var page = $"select r.id, r.resource_type, r.resource_id, (r.data->>'VersionId')::int, r.last_updated, r.data->>'Json', {select} " +
                   $"from {SearchSql.ResourceTable} r where {pageWhere} order by {order} limit {p.Add(query.Count + 1)}";

        var rows = new List<(StoredVersion Version, string?[] SortValues)>();
        await using (var cmd = Command(page, unit))
        {
            p.CopyTo(cmd);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var values = new string?[keys.Count];
                for (var i = 0; i < keys.Count; i++) values[i] = reader.IsDBNull(6 + i) ? null : SortValue(reader.GetValue(6 + i));
                rows.Add((ReadVersion(reader), values));
            }
        }
        var more = rows.Count > query.Count;
        if (more) rows.RemoveAt(rows.Count - 1);
        if (!forward) rows.Reverse();

        Cursor? next = null, previous = null;
        if (rows.Count > 0)
        {
            var first = rows[0];
            var last = rows[^1];
            // The last sort value is the tie-breaker, the row's compact key.
            if (forward ? more : query.Cursor is not null) next = new Cursor(true, last.SortValues[..^1], last.SortValues[^1]!);
            if (forward ? query.Cursor is not null : more) previous = new Cursor(false, first.SortValues[..^1], first.SortValues[^1]!);
        }
        if (total is null && query.Total == TotalMode.Auto && query.Cursor is null && !more) total = rows.Count;

        var hits = rows.Select(r => new SearchHit(r.Version, false)).ToList();
        await Include(query, hits, warnings, ct);
        return new SearchResult(hits, total, next, previous, warnings);
    }

    private NpgsqlCommand Command(string sql, UnitOfWork? unit) => unit is null ? db.CreateCommand(sql) : new NpgsqlCommand(sql, unit.Connection);

    /// <summary>
    /// The WHERE clause over the resource table "r": <see cref="Filter.Where"/> in full; when every criterion is an
    /// index lookup, also the combined key set alone (so the page can be cut from the index rows), the clause
    /// without it, and whether the keys need checking against the resource table (_has yields reference
    /// targets, which may be gone).
    /// </summary>
    private sealed record Filter(string Where, string RowWhere, string? KeySet = null, bool VerifyKeys = false);

    private static Filter Where(IReadOnlyList<string> types, IReadOnlyList<Criterion> criteria, SearchSql sql, SqlParams p)
    {
        var parts = new List<string>
        {
            types.Count == 1 ? $"r.resource_type = {p.Add(types[0])}" : $"r.resource_type = any({p.Add(types.ToArray())})",
            "not r.deleted",
        };
        if (types.Count > 1)
        {
            foreach (var criterion in criteria) parts.Add(AnyType(types, criterion, sql, p));
            var all = string.Join(" and ", parts);
            return new Filter(all, all);
        }
        // Positive lookups become key sets answered by index-only scans; the rest stay conditions on the row.
        var type = types[0];
        var keySets = new List<string>();
        var residual = false;
        var liveKeys = false; // index rows belong to live resources; any key set but _has's is such rows' keys
        foreach (var criterion in criteria)
        {
            if (sql.KeySet(criterion, type) is { } keys)
            {
                keySets.Add(keys);
                liveKeys |= criterion is not HasCriterion;
            }
            else
            {
                parts.Add(sql.Condition(criterion, "r", type));
                residual = true;
            }
        }
        var rows = string.Join(" and ", parts);
        if (keySets.Count == 0) return new Filter(rows, rows);
        // Joined on the key, so the planner can merge key-ordered index scans (stopping at the page's end) or
        // hash the small side, as the statistics on the index tables suggest.
        var combined = keySets.Count == 1 ? keySets[0] :
            "select k0.key from " + string.Join(" join ", keySets.Select((k, i) => $"({k}) as k{i}(key)" + (i == 0 ? "" : $" on k{i}.key = k0.key")));
        return new Filter($"{rows} and r.rid in ({combined})", rows, residual ? null : combined, !liveKeys);
    }

    // Across several types a criterion holds when it holds for the row's own type.
    private static string AnyType(IReadOnlyList<string> types, Criterion criterion, SearchSql sql, SqlParams p) =>
        "(" + string.Join(" or ", types.Select(t => $"(r.resource_type = {p.Add(t)} and {sql.Condition(criterion, "r", t)})")) + ")";

    private static string Keyset(List<(string Sql, string Type, bool Descending)> keys, Cursor cursor, SqlParams p)
    {
        var values = cursor.Values.Append(cursor.Key).ToList();
        if (values.Count != keys.Count) throw Errors.FhirException.BadRequest("_cursor does not belong to this search (its sort differs).", "_cursor");
        // A cursor is the client's text: its values must be of the sort keys' types before they meet SQL casts.
        for (var i = 0; i < keys.Count; i++)
        {
            var fits = values[i] is not { } v || keys[i].Type switch
            {
                "timestamptz" => DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.None, out _),
                "numeric" => decimal.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
                "bigint" => long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                _ => true,
            };
            if (!fits) throw Errors.FhirException.BadRequest("_cursor does not belong to this search (a sort value is not of its key's type).", "_cursor");
        }
        var ors = new List<string>();
        for (var i = 0; i < keys.Count; i++)
        {
            var ands = new List<string>();
            for (var j = 0; j < i; j++) ands.Add($"({keys[j].Sql}) = {p.Add(values[j])}::{keys[j].Type}");
            var op = keys[i].Descending ^ !cursor.Forward ? "<" : ">";
            ands.Add($"({keys[i].Sql}) {op} {p.Add(values[i])}::{keys[i].Type}");
            ors.Add("(" + string.Join(" and ", ands) + ")");
        }
        return "(" + string.Join(" or ", ors) + ")";
    }

    private static string? SortValue(object value) => value switch
    {
        DateTime dt => dt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset dto => dto.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
        decimal d => d.ToString(CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private async Task<int> Count(string where, SqlParams p, UnitOfWork? unit, CancellationToken ct)
    {
        await using var cmd = Command($"select count(*) from {SearchSql.ResourceTable} r where {where}", unit);
        p.CopyTo(cmd);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    private async Task<int> Estimate(string where, SqlParams p, UnitOfWork? unit, CancellationToken ct)
    {
        await using var cmd = Command($"explain (format json) select 1 from {SearchSql.ResourceTable} r where {where}", unit);
        p.CopyTo(cmd);
        var plan = (string)(await cmd.ExecuteScalarAsync(ct))!;
        return (int)JsonDocument.Parse(plan).RootElement[0].GetProperty("Plan").GetProperty("Plan Rows").GetDouble();
    }

    private static StoredVersion ReadVersion(NpgsqlDataReader r) =>
        new(r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetFieldValue<DateTimeOffset>(4), false, "GET", r.GetString(5));

    // ---------------------------------------------------------------- _include / _revinclude

    private async Task Include(SearchQuery query, List<SearchHit> hits, List<string> warnings, CancellationToken ct)
    {
        if (query.Includes.Count == 0 && query.RevIncludes.Count == 0) return;
        var seen = hits.Select(h => CompactKeys.Rid(h.Version.Key)).ToHashSet();
        var frontier = seen.ToArray();
        var firstRound = true;
        var included = 0;
        while (frontier.Length > 0)
        {
            var includes = query.Includes.Where(i => firstRound || i.Iterate).ToList();
            var revIncludes = query.RevIncludes.Where(i => firstRound || i.Iterate).ToList();
            if (includes.Count == 0 && revIncludes.Count == 0) break;
            var linked = new Dictionary<long, string>();
            foreach (var spec in includes) foreach (var (key, type) in await LinkedKeys(spec, frontier, reverse: false, ct)) linked[key] = type;
            foreach (var spec in revIncludes) foreach (var (key, type) in await LinkedKeys(spec, frontier, reverse: true, ct)) linked[key] = type;
            var keys = linked.Keys.ToHashSet();
            keys.ExceptWith(seen);
            if (included + keys.Count > MaxIncluded)
            {
                warnings.Add($"Only {MaxIncluded} included resources are returned per search; {included + keys.Count - MaxIncluded} more were left out. Narrow the search or page with a smaller _count.");
                keys = keys.Order().Take(MaxIncluded - included).ToHashSet();
            }
            var types = keys.Select(k => linked[k]).Distinct().ToList();
            var fetched = await Fetch(keys.ToArray(), types is [{ Length: > 0 } one] ? one : null, query.Confinement, query.Policy, ct);
            foreach (var v in fetched) hits.Add(new SearchHit(v, true));
            included += fetched.Count;
            seen.UnionWith(keys);
            frontier = fetched.Select(v => CompactKeys.Rid(v.Key)).ToArray();
            firstRound = false;
            if (included >= MaxIncluded) break;
        }
    }

    /// <summary>
    /// Compact keys on the other side of the references an include follows: targets of the frontier's references
    /// (_include), or sources of references to the frontier (_revinclude).
    /// </summary>
    private async Task<List<(long Key, string Type)>> LinkedKeys(IncludeSpec spec, long[] frontier, bool reverse, CancellationToken ct)
    {
        var (result, match, type) = reverse ? ("x.rid", "x.target_rid", "x.rtype") : ("x.target_rid", "x.rid", "x.target_type");
        var sql = new StringBuilder($"select distinct {result}, {type} from {StorageSetup.Schema}.ix_reference x where {match} = any($1) and {result} is not null");
        var args = new List<object> { frontier };
        if (spec.SourceType != "*") { args.Add(spec.SourceType); sql.Append($" and x.rtype = ${args.Count}"); }
        if (spec.Param != "*") { args.Add(spec.Param); sql.Append($" and x.param = ${args.Count}"); }
        if (spec.TargetType is { } t) { args.Add(t); sql.Append($" and x.target_type = ${args.Count}"); }
        await using var cmd = db.CreateCommand(sql.ToString());
        foreach (var a in args) cmd.Parameters.AddWithValue(a);
        var keys = new List<(long, string)>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) keys.Add((reader.GetInt64(0), reader.IsDBNull(1) ? "" : reader.GetString(1)));
        return keys;
    }

    // Included resources meet the caller's confinement and policy as the matches do: nothing it may not see comes along.
    // All of one type (the usual include), they get that type's policy, and the statement says the type too.
    private async Task<List<StoredVersion>> Fetch(long[] rids, string? type, PatientConfinement? confinement, InstitutionAccess? policy, CancellationToken ct)
    {
        if (rids.Length == 0) return [];
        var parameters = new List<object> { rids };
        string Add(object value) { parameters.Add(value); return "$" + parameters.Count; }
        var confined = (type is null ? "" : $" and r.resource_type = {Add(type)}")
                       + (confinement is null ? "" : " and " + confinement.Condition("r.resource_type", "r.rid", Add))
                       + (policy is null ? "" : " and " + (type is null ? policy.Condition("r.resource_type", "r.rid", "r.data", Add) : policy.ConditionFor(type, "r.rid", "r.data", Add)));
        await using var cmd = db.CreateCommand(
            $"select r.id, r.resource_type, r.resource_id, (r.data->>'VersionId')::int, r.last_updated, r.data->>'Json' from {SearchSql.ResourceTable} r where r.rid = any($1) and not r.deleted{confined} order by r.id");
        foreach (var value in parameters) cmd.Parameters.AddWithValue(value);
        var result = new List<StoredVersion>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) result.Add(ReadVersion(reader));
        return result;
    }
}
