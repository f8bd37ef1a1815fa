using Interop.Fhir.Indexing;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Storage;
using NpgsqlTypes;

namespace Interop.Fhir.Search;

/// <summary>
/// Turns criteria into SQL conditions on a resource-table alias. Each parameter becomes a semi-join into its
/// index table (served by that table's (rtype, param, value) index); chains and _has nest whole searches.
/// </summary>
public sealed class SearchSql(SqlParams p, string baseUrl)
{
    private const string S = StorageSetup.Schema;
    public const string ResourceTable = StorageSetup.CurrentTable;
    private int _depth;

    /// <summary>Parses every value once so malformed input is a 400 before any SQL runs.</summary>
    public static void Validate(ParamCriterion c, string name)
    {
        var sql = new SearchSql(new SqlParams(), "");
        sql.Condition(c, "r", c.Param.Resource, name);
    }

    public string Condition(Criterion criterion, string alias, string type, string? name = null)
    {
        if (KeySet(criterion, type, name) is { } keys) return $"{alias}.id in ({keys})";
        return criterion is ParamCriterion c ? ParamCondition(c, alias, type, name ?? c.Param.Name) : throw new ArgumentOutOfRangeException(nameof(criterion));
    }

    /// <summary>
    /// The criterion as "select rkey ..." over an index table, or null when it is not a positive lookup
    /// (:not, :missing, _id, _lastUpdated). Index rows exist only for live current versions, so a key set needs
    /// no join back to the resource table. Several key sets are joined on the key (SearchService).
    /// </summary>
    public string? KeySet(Criterion criterion, string type, string? name = null) => criterion switch
    {
        ParamCriterion c => ParamKeySet(c, type, name ?? c.Param.Name),
        ChainCriterion c =>
            $"select x.rkey from {S}.ix_reference x where x.rtype = {p.Add(type)} and x.param = {p.Add(c.Reference.Name)} and x.target_key in ({string.Join(" union all ", c.Targets.Select(t => KeysMatching(t.TargetType, t.Inner)))})",
        HasCriterion c =>
            $"select x.target_key from {S}.ix_reference x where x.rtype = {p.Add(c.SourceType)} and x.param = {p.Add(c.SourceReference.Name)} " +
            $"and x.target_type = {p.Add(type)} and x.rkey in ({KeysMatching(c.SourceType, c.Inner)})",
        DateRangeCriterion c => Lookup(type, "ix_date", c.Param.Name, Overlaps(c.From, c.To)),
        CompartmentCriterion c =>
            $"select x.rkey from {S}.ix_reference x where x.rtype = {p.Add(type)} and x.param = any({p.Add(c.Params.ToArray())}) and x.target_key = {p.Add(c.TargetKey)}",
        _ => null,
    };

    /// <summary>The keys of the live resources of a type matching a criterion.</summary>
    public string KeysMatching(string type, Criterion criterion)
    {
        if (criterion is not HasCriterion && KeySet(criterion, type) is { } keys) return keys;
        var alias = "r" + ++_depth;
        return $"select {alias}.id from {ResourceTable} {alias} where {alias}.resource_type = {p.Add(type)} and not {alias}.deleted and {Condition(criterion, alias, type)}";
    }

    private string? ParamKeySet(ParamCriterion c, string type, string name)
    {
        var param = c.Param;
        if (c.Modifier is "missing" or "not" || param.IsColumn) return null;
        if (param.Type == SearchParamType.Special)
        {
            var column = param.Name == "_text" ? "narrative" : "content";
            return $"select x.rkey from {S}.ix_text x where x.rtype = {p.Add(type)} and (" +
                   string.Join(" or ", c.Values.Select(v => $"x.{column} @@ websearch_to_tsquery('simple', {p.Add(v)})")) + ")";
        }
        if (param.Type == SearchParamType.Reference && c.Modifier == "identifier")
            return Lookup(type, "ix_token", param.Name + ":identifier", Or(c.Values.Select(v => TokenCondition(v))));
        return Lookup(type, Table(param), param.Name, Or(c.Values.Select(v => ValueCondition(param, c.Modifier, v, name))));
    }

    private string ParamCondition(ParamCriterion c, string alias, string type, string name)
    {
        var param = c.Param;
        if (c.Modifier == "missing")
        {
            var missing = c.Values[0] switch
            {
                "true" => true, "false" => false,
                _ => throw FhirException.BadRequest($"':missing' takes true or false, not '{c.Values[0]}'.", name),
            };
            if (param.IsColumn) return missing ? "false" : "true";
            var table = param.Type == SearchParamType.Special ? "ix_text" : Table(param);
            var any = $"{alias}.id in (select x.rkey from {S}.{table} x where x.rtype = {p.Add(type)}" + (table == "ix_text" ? ")" : $" and x.param = {p.Add(param.Name)})");
            return missing ? $"not {any}" : any;
        }
        if (param.Name == "_id")
        {
            var ids = p.Add(c.Values.ToArray());
            return c.Modifier == "not" ? $"{alias}.resource_id <> all({ids})" : $"{alias}.resource_id = any({ids})";
        }
        if (param.Name == "_lastUpdated")
            return Or(c.Values.Select(v => DateCondition(v, $"{alias}.last_updated", $"({alias}.last_updated + interval '1 millisecond')", name)));
        // :not — resources with no value that matches
        return $"not {alias}.id in ({ParamKeySet(c with { Modifier = null }, type, name)})";
    }

    private string Lookup(string type, string table, string param, string where) =>
        $"select x.rkey from {S}.{table} x where x.rtype = {p.Add(type)} and x.param = {p.Add(param)} and ({where})";

    private static string B(string text) => IndexText.Bound(text);

    private static string Table(SearchParam param) => "ix_" + param.Table.ToString().ToLowerInvariant();

    private static string Or(IEnumerable<string> parts)
    {
        var list = parts.ToList();
        return list.Count == 1 ? list[0] : "(" + string.Join(" or ", list) + ")";
    }

    private string ValueCondition(SearchParam param, string? modifier, string value, string name)
    {
        switch (param.Type)
        {
            case SearchParamType.String:
                var normalized = B(IndexExtractor.Normalize(value));
                return modifier switch
                {
                    "exact" => $"x.exact = {p.Add(B(value))}",
                    "contains" => $"x.value like {p.Add("%" + SearchValues.LikePrefix(normalized) + "%")}",
                    _ => $"x.value like {p.Add(SearchValues.LikePrefix(normalized) + "%")}",
                };
            case SearchParamType.Token:
                if (modifier == "text") return $"x.text like {p.Add(SearchValues.LikePrefix(B(IndexExtractor.Normalize(value))) + "%")}";
                if (modifier == "of-type")
                {
                    var parts = value.Split('|');
                    if (parts.Length != 3) throw FhirException.BadRequest($"':of-type' takes system|code|value, not '{value}'.", name);
                    return $"(x.type_key = {p.Add(B(parts[0] + "|" + parts[1]))} and x.code = {p.Add(B(parts[2]))})";
                }
                return TokenCondition(value);
            case SearchParamType.Date:
                return DateCondition(value, "x.lo", "x.hi", name, rangeIndex: true);
            case SearchParamType.Number:
                var (prefix, number, lo, hi) = SearchValues.Number(value, name);
                return NumberCondition(prefix, number, lo, hi, "x.value");
            case SearchParamType.Quantity:
                return QuantityCondition(value, name, QuantityColumns.Plain);
            case SearchParamType.Reference:
                return ReferenceCondition(modifier, value);
            case SearchParamType.Uri:
                return modifier switch
                {
                    "below" => $"x.value like {p.Add(SearchValues.LikePrefix(B(value)) + "%")}",
                    "above" => $"{p.Add(B(value))} like (x.value || '%')",
                    "contains" => $"x.value like {p.Add("%" + SearchValues.LikePrefix(B(value)) + "%")}",
                    _ => $"x.value = {p.Add(B(value))}",
                };
            case SearchParamType.Composite:
                return CompositeCondition(param, value, name);
            default:
                throw FhirException.BadRequest($"Parameter '{name}' cannot be searched this way.", name);
        }
    }

    /// <param name="systemColumn">The columns compared: ix_token's own, or a composite's second component.</param>
    private string TokenCondition(string value, string systemColumn = "x.system", string codeColumn = "x.code")
    {
        var (hasSystem, system, code) = SearchValues.Token(value);
        system = IndexText.Bound(system);
        code = IndexText.Bound(code);
        if (!hasSystem) return $"{codeColumn} = {p.Add(code)}";
        if (code is null) return system is null ? "true" : $"{systemColumn} = {p.Add(system)}";
        return system is null
            ? $"({systemColumn} is null and {codeColumn} = {p.Add(code)})"
            : $"({systemColumn} = {p.Add(system)} and {codeColumn} = {p.Add(code)})";
    }

    private string ReferenceCondition(string? typeModifier, string value)
    {
        if (value.StartsWith(baseUrl + "/", StringComparison.Ordinal) && baseUrl != "") value = value[(baseUrl.Length + 1)..];
        if (value.Contains("://") || value.StartsWith("urn:", StringComparison.Ordinal))
            return $"x.url = {p.Add(B(value))}";
        var parts = value.Split('/');
        if (typeModifier is not null)
            return parts.Length == 1 ? $"x.target_key = {p.Add(typeModifier + "/" + value)}" : $"x.target_key = {p.Add(value)}";
        if (parts.Length >= 2) return $"x.target_key = {p.Add(parts[0] + "/" + parts[1])}";
        return $"x.target_id = {p.Add(value)}";
    }

    /// <summary>
    /// Merges the date criteria of one parameter that bound it from below (ge, gt) and above (le, lt) into one
    /// range criterion; the rest pass through. A resource then needs one value inside the range, where the spec
    /// would let two different values of a repeating element satisfy the two bounds.
    /// </summary>
    public static List<Criterion> MergeDateRanges(IEnumerable<Criterion> criteria)
    {
        var list = criteria.ToList();
        var bounds = list.OfType<ParamCriterion>()
            .Where(c => c.Param.Type == SearchParamType.Date && !c.Param.IsColumn && c.Modifier is null && c.Values.Count == 1)
            .Select(c => (Criterion: c, Value: SearchValues.Date(c.Values[0], c.Param.Name)))
            .ToList();
        foreach (var group in bounds.GroupBy(b => b.Criterion.Param.Name))
        {
            var lower = group.FirstOrDefault(b => b.Value.Prefix is "ge" or "gt");
            var upper = group.FirstOrDefault(b => b.Value.Prefix is "le" or "lt");
            if (lower.Criterion is null || upper.Criterion is null) continue;
            var from = lower.Value.Prefix == "ge" ? lower.Value.Lo : lower.Value.Hi;
            var to = upper.Value.Prefix == "le" ? upper.Value.Hi : upper.Value.Lo;
            if (from >= to) continue;
            var at = list.IndexOf(lower.Criterion);
            list[at] = new DateRangeCriterion(lower.Criterion.Param, from, to);
            list.Remove(upper.Criterion);
        }
        return list;
    }

    // The index row's period [lo, hi) overlaps [from, to): hi > from and lo < to, through the GiST range index.
    private string Overlaps(DateTimeOffset from, DateTimeOffset to) =>
        $"tstzrange(x.lo, x.hi, '[)') && tstzrange({p.Add(from, NpgsqlDbType.TimestampTz)}, {p.Add(to, NpgsqlDbType.TimestampTz)}, '[)')";

    /// <param name="rangeIndex">The columns are ix_date's, which the GiST range index serves.</param>
    private string DateCondition(string raw, string lo, string hi, string name, bool rangeIndex = false)
    {
        var (prefix, slo, shi) = SearchValues.Date(raw, name);
        string A(DateTimeOffset d) => p.Add(d, NpgsqlDbType.TimestampTz);
        return prefix switch
        {
            "eq" when rangeIndex => $"tstzrange(x.lo, x.hi, '[)') <@ tstzrange({A(slo)}, {A(shi)}, '[)')",
            "ap" when rangeIndex => Overlaps(Shift(slo, -ApGap(slo)), Shift(shi, ApGap(slo))),
            "eq" => $"({lo} >= {A(slo)} and {hi} <= {A(shi)})",
            "ne" => $"not ({lo} >= {A(slo)} and {hi} <= {A(shi)})",
            "gt" => $"{hi} > {A(shi)}",
            "lt" => $"{lo} < {A(slo)}",
            "ge" => $"{hi} > {A(slo)}",
            "le" => $"{lo} < {A(shi)}",
            "sa" => $"{lo} >= {A(shi)}",
            "eb" => $"{hi} <= {A(slo)}",
            _ => Approximately(slo, shi, lo, hi, A),
        };
    }

    // ap: within 10% of the distance from now, at least a day (the spec leaves the width to the server).
    private static TimeSpan ApGap(DateTimeOffset slo) =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerDay, Math.Abs((DateTimeOffset.UtcNow - slo).Ticks) / 10));

    private static string Approximately(DateTimeOffset slo, DateTimeOffset shi, string lo, string hi, Func<DateTimeOffset, string> a)
    {
        var gap = ApGap(slo);
        return $"({lo} < {a(Shift(shi, gap))} and {hi} > {a(Shift(slo, -gap))})";
    }

    // Moves an instant, stopping at the ends of what DateTimeOffset can hold (years 1 and 9999).
    private static DateTimeOffset Shift(DateTimeOffset at, TimeSpan by) =>
        by > TimeSpan.Zero && at > DateTimeOffset.MaxValue - by ? DateTimeOffset.MaxValue
        : by < TimeSpan.Zero && at < DateTimeOffset.MinValue - by ? DateTimeOffset.MinValue
        : at + by;

    private string NumberCondition(string prefix, decimal value, decimal lo, decimal hi, string column)
    {
        string A(decimal d) => p.Add(d, NpgsqlDbType.Numeric);
        return prefix switch
        {
            "eq" => $"({column} >= {A(lo)} and {column} < {A(hi)})",
            "ne" => $"not ({column} >= {A(lo)} and {column} < {A(hi)})",
            "gt" or "sa" => $"{column} > {A(value)}",
            "lt" or "eb" => $"{column} < {A(value)}",
            "ge" => $"{column} >= {A(value)}",
            "le" => $"{column} <= {A(value)}",
            _ => $"({column} >= {A(Approx(value, -1))} and {column} <= {A(Approx(value, 1))})",
        };
    }

    // ap: within 10 % of the value, stopping at the ends of decimal's range.
    private static decimal Approx(decimal value, int sign)
    {
        try { return value + sign * Math.Abs(value) * 0.1m; }
        catch (OverflowException) { return sign > 0 ? decimal.MaxValue : decimal.MinValue; }
    }

    private string CompositeCondition(SearchParam param, string value, string name)
    {
        var parts = value.Split('$');
        if (parts.Length != 2) throw FhirException.BadRequest($"Composite '{name}' takes two values joined by $, not '{value}'.", name);
        var (hasSystem, system, code) = SearchValues.Token(parts[0]);
        (system, code) = (IndexText.Bound(system), IndexText.Bound(code));
        var first = hasSystem && system is not null ? $"x.system = {p.Add(system)} and x.code = {p.Add(code)}" : $"x.code = {p.Add(code)}";
        var second = param.Components[1].Type switch
        {
            SearchParamType.Quantity => QuantityCondition(parts[1], name, QuantityColumns.Composite),
            SearchParamType.Number => NumberComposite(parts[1], name),
            SearchParamType.Date => DateCondition(parts[1], "x.v_lo", "x.v_hi", name),
            SearchParamType.String => $"x.v_text like {p.Add(SearchValues.LikePrefix(B(IndexExtractor.Normalize(parts[1]))) + "%")}",
            _ => TokenCondition(parts[1], "x.v_system", "x.v_code"),
        };
        return $"({first} and {second})";
    }

    // A UCUM search value in canonical units, or null to compare as written.
    private static (string Unit, decimal Value, decimal Lo, decimal Hi)? Canonical((string Prefix, decimal Value, decimal Lo, decimal Hi, string? System, string? Code) q) =>
        Ucum.Unit(q.System, q.Code) is { } u && Ucum.Scale(q.Value, u.Factor) is { } v && Ucum.Scale(q.Lo, u.Factor) is { } lo && Ucum.Scale(q.Hi, u.Factor) is { } hi
            ? (u.Code, v, lo, hi) : null;

    /// <summary>Where a quantity lives: ix_quantity's own columns, or the second component of an ix_composite row.</summary>
    private sealed record QuantityColumns(string Value, string System, string CanonCode, string CanonValue, params string[] Codes)
    {
        public static readonly QuantityColumns Plain = new("x.value", "x.system", "x.canon_code", "x.canon_value", "x.code", "x.unit");
        public static readonly QuantityColumns Composite = new("x.v_number", "x.v_system", "x.v_canon_code", "x.v_canon_number", "x.v_code");
    }

    private string QuantityCondition(string raw, string name, QuantityColumns col)
    {
        var q = SearchValues.Quantity(raw, name);
        if (Canonical(q) is { } c) // any unit of the same dimension, compared canonically
            return $"({col.CanonCode} = {p.Add(c.Unit)} and {NumberCondition(q.Prefix, c.Value, c.Lo, c.Hi, col.CanonValue)})";
        var cond = NumberCondition(q.Prefix, q.Value, q.Lo, q.Hi, col.Value);
        if (q.Code is not null)
        {
            var code = p.Add(B(q.Code));
            cond += " and (" + string.Join(" or ", col.Codes.Select(column => $"{column} = {code}")) + ")";
        }
        if (q.System is not null) cond += $" and {col.System} = {p.Add(B(q.System))}";
        return "(" + cond + ")";
    }

    private string NumberComposite(string raw, string name)
    {
        var (prefix, number, lo, hi) = SearchValues.Number(raw, name);
        return NumberCondition(prefix, number, lo, hi, "x.v_number");
    }

    /// <summary>A sort key as an SQL expression (never null: missing values sort as the smallest).</summary>
    public string SortExpression(SortKey key, string alias, out string sqlType)
    {
        if (key.Name == "_lastUpdated") { sqlType = "timestamptz"; return $"{alias}.last_updated"; }
        if (key.Name == "_id") { sqlType = "text"; return $"{alias}.resource_id"; }
        var param = key.Param!;
        var agg = key.Descending ? "max" : "min";
        var (column, type, floor) = param.Type switch
        {
            SearchParamType.Date => (key.Descending ? "hi" : "lo", "timestamptz", "'-infinity'::timestamptz"),
            SearchParamType.Number or SearchParamType.Quantity => ("value", "numeric", "'-Infinity'::numeric"),
            SearchParamType.Token => ("code", "text", "''"),
            SearchParamType.Reference => ("target_key", "text", "''"),
            _ => ("value", "text", "''"),
        };
        sqlType = type;
        return $"coalesce((select {agg}(x.{column}) from {S}.{Table(param)} x where x.rkey = {alias}.id and x.param = {p.Add(param.Name)}), {floor})";
    }
}
