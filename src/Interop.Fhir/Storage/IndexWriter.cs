using Interop.Fhir.Indexing;
using Marten;

namespace Interop.Fhir.Storage;

/// <summary>The statements that write index rows: a batch's (<see cref="IndexQueue"/>) and one parameter's (a backfill).</summary>
public static class IndexWriter
{
    private const string S = StorageSetup.Schema;

    /// <summary>
    /// Replaces the rows of one parameter of a resource, leaving the others (a parameter defined at run time, indexed
    /// for the resources stored before it: Storage/Reindexer). <paramref name="rows"/> holds that parameter's values only.
    /// </summary>
    public static void QueueParameter(IDocumentSession session, string key, string type, string table, string param, IndexRows rows)
    {
        var rid = CompactKeys.Rid(key);
        var ctes = new Ctes();
        ctes.Add($"delete from {S}.{table} where rid = ? and rtype = ? and param = ?", rid, type, param);
        InsertRows(ctes, [(rid, type, rows)]);
        ctes.Queue(session);
    }

    // The rows of the parameter tables (all but the full text) of every item, one data-modifying CTE per table that has rows.
    internal static void InsertRows(Ctes ctes, IReadOnlyList<(long Rid, string Type, IndexRows Rows)> items)
    {
        var strings = Flat(items, r => r.Strings);
        if (strings.Count > 0)
            ctes.Add($"insert into {S}.ix_string (rid, rtype, param, value, exact) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[])",
                Rids(strings), Types(strings), strings.Select(x => x.Row.Param).ToArray(), Bound(strings.Select(x => x.Row.Value)), Bound(strings.Select(x => x.Row.Exact)));
        var tokens = Flat(items, r => r.Tokens);
        if (tokens.Count > 0)
            ctes.Add($"insert into {S}.ix_token (rid, rtype, param, system, code, text, type_key) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])",
                Rids(tokens), Types(tokens), tokens.Select(x => x.Row.Param).ToArray(), Bound(tokens.Select(x => x.Row.System)), Bound(tokens.Select(x => x.Row.Code)),
                Bound(tokens.Select(x => x.Row.Text)), Bound(tokens.Select(x => x.Row.TypeKey)));
        var dates = Flat(items, r => r.Dates);
        if (dates.Count > 0)
            ctes.Add($"insert into {S}.ix_date (rid, rtype, param, lo, hi) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::timestamptz[], ?::timestamptz[])",
                Rids(dates), Types(dates), dates.Select(x => x.Row.Param).ToArray(), dates.Select(x => x.Row.Lo).ToArray(), dates.Select(x => x.Row.Hi).ToArray());
        var numbers = Flat(items, r => r.Numbers);
        if (numbers.Count > 0)
            ctes.Add($"insert into {S}.ix_number (rid, rtype, param, value) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::numeric[])",
                Rids(numbers), Types(numbers), numbers.Select(x => x.Row.Param).ToArray(), numbers.Select(x => x.Row.Value).ToArray());
        var quantities = Flat(items, r => r.Quantities);
        if (quantities.Count > 0)
            ctes.Add($"insert into {S}.ix_quantity (rid, rtype, param, system, code, unit, value, canon_code, canon_value) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::text[], ?::numeric[])",
                Rids(quantities), Types(quantities), quantities.Select(x => x.Row.Param).ToArray(), Bound(quantities.Select(x => x.Row.System)), Bound(quantities.Select(x => x.Row.Code)),
                Bound(quantities.Select(x => x.Row.Unit)), quantities.Select(x => x.Row.Value).ToArray(),
                Bound(quantities.Select(x => x.Row.CanonCode)), quantities.Select(x => x.Row.CanonValue).ToArray());
        var references = Flat(items, r => r.References);
        if (references.Count > 0)
            ctes.Add($"insert into {S}.ix_reference (rid, rtype, param, target_type, target_id, target_rid, url) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[])",
                Rids(references), Types(references), references.Select(x => x.Row.Param).ToArray(), Bound(references.Select(x => x.Row.TargetType)),
                Bound(references.Select(x => x.Row.TargetId)), references.Select(x => TargetRid(x.Row)).ToArray(), Bound(references.Select(x => x.Row.Url)));
        var uris = Flat(items, r => r.Uris);
        if (uris.Count > 0)
            ctes.Add($"insert into {S}.ix_uri (rid, rtype, param, value) select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[])",
                Rids(uris), Types(uris), uris.Select(x => x.Row.Param).ToArray(), Bound(uris.Select(x => x.Row.Value)));
        var composites = Flat(items, r => r.Composites);
        if (composites.Count > 0)
            ctes.Add($"insert into {S}.ix_composite (rid, rtype, param, system, code, v_system, v_code, v_number, v_lo, v_hi, v_text, v_canon_code, v_canon_number) " +
                "select * from unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::numeric[], ?::timestamptz[], ?::timestamptz[], ?::text[], ?::text[], ?::numeric[])",
                Rids(composites), Types(composites), composites.Select(x => x.Row.Param).ToArray(), Bound(composites.Select(x => x.Row.System)), Bound(composites.Select(x => x.Row.Code)),
                Bound(composites.Select(x => x.Row.ValueSystem)), Bound(composites.Select(x => x.Row.ValueCode)), composites.Select(x => x.Row.Number).ToArray(),
                composites.Select(x => x.Row.Lo).ToArray(), composites.Select(x => x.Row.Hi).ToArray(), Bound(composites.Select(x => x.Row.Text)),
                Bound(composites.Select(x => x.Row.CanonCode)), composites.Select(x => x.Row.CanonNumber).ToArray());
    }

    // One table's rows of every item, each with its resource's compact key and type.
    private static List<(long Rid, string Type, T Row)> Flat<T>(IReadOnlyList<(long Rid, string Type, IndexRows Rows)> items, Func<IndexRows, List<T>> rows) =>
        [.. items.SelectMany(i => rows(i.Rows).Select(r => (i.Rid, i.Type, r)))];

    private static long[] Rids<T>(List<(long Rid, string Type, T Row)> rows) => rows.Select(r => r.Rid).ToArray();
    private static string[] Types<T>(List<(long Rid, string Type, T Row)> rows) => rows.Select(r => r.Type).ToArray();

    // A local reference's target by its compact key (null for absolute URLs and contained references).
    private static long? TargetRid((string Param, string? TargetType, string? TargetId, string? Url) r) =>
        r.TargetType is null || r.TargetId is null ? null : CompactKeys.Rid(IndexText.Bound(r.TargetType) + "/" + IndexText.Bound(r.TargetId));

    private static string?[] Bound(IEnumerable<string?> values) => values.Select(v => IndexText.Bound(v)).ToArray();

    /// <summary>One statement of data-modifying CTEs (positional ? parameters), queued into the session as one command.</summary>
    internal sealed class Ctes
    {
        private readonly List<(string Body, object?[] Values)> _parts = [];

        public bool IsEmpty => _parts.Count == 0;

        public void Add(string body, params object?[] values) => _parts.Add((body, values));

        /// <summary>Adds the CTEs of <paramref name="other"/> after these.</summary>
        public void Add(Ctes other) => _parts.AddRange(other._parts);

        /// <summary>Queues the statement (nothing when no CTE was added).</summary>
        public void Queue(IDocumentSession session)
        {
            if (IsEmpty) return;
            var sql = "with " + string.Join(", ", _parts.Select((p, i) => $"c{i + 1} as ({p.Body})")) + " select 1";
            session.QueueSqlCommand(sql, _parts.SelectMany(p => p.Values).Select(a => a ?? DBNull.Value).ToArray());
        }
    }
}
