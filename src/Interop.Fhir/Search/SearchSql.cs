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
/// <param name="policy">The caller's access policy (an institution), or null: the resources a chain hop, a _has or a
/// _has-not looks at must be ones the caller may see, as a search of their type would require, or their existence
/// (or absence), or their values, would show through the matches.</param>
/// <param name="confinement">A patient-scoped caller's compartment, or null: the same for chains and _has under patient/ scopes.</param>
public sealed class SearchSql(SqlParams p, InstitutionAccess? policy = null, PatientConfinement? confinement = null)
{
    private const string S = StorageSetup.Schema;
    public const string ResourceTable = StorageSetup.CurrentTable;
    private int _depth;

    public string Condition(Criterion criterion, string alias, string type, string? name = null)
    {
        if (KeySet(criterion, type, name) is { } keys) return $"{alias}.rid in ({keys})";
        if (criterion is HasCriterion { Negated: true } not)
            return Guarded(not.SourceType) is { } visible
                ? $"not exists ({VisibleSources(not, alias, type, visible)})"
                : $"{alias}.rid not in ({KeySet(not with { Negated = false }, type, name)})";
        return criterion is ParamCriterion c ? ParamCondition(c, alias, type, name ?? c.Param.Name) : throw new ArgumentOutOfRangeException(nameof(criterion));
    }

    /// <summary>
    /// The criterion as "select rid ..." over an index table (compact keys), or null when it is not a positive lookup
    /// (:not, :missing, _id, _lastUpdated). Index rows exist only for live current versions, so a key set needs
    /// no join back to the resource table. Several key sets are joined on the key (SearchService).
    /// </summary>
    public string? KeySet(Criterion criterion, string type, string? name = null) => criterion switch
    {
        ParamCriterion c => ParamKeySet(c, type, name ?? c.Param.Name),
        ChainCriterion c => ChainKeys(c, type),
        HasCriterion { Negated: false } c => HasKeys(c, type),
        DateRangeCriterion c => Lookup(type, "ix_date", c.Param.Name, Overlaps(c.From, c.To)),
        CompartmentCriterion c =>
            $"select x.rid from {S}.ix_reference x where x.rtype = {p.Add(type)} and x.param = any({p.Add(c.Params.ToArray())}) and x.target_rid = {p.Add(CompartmentRid(c.TargetKey))}",
        _ => null,
    };

    // The compartment's key comes from the URL path: checked like any search value before it is hashed.
    private static long CompartmentRid(string key)
    {
        Formats.InputGuard.CheckText(key, "the compartment id");
        return CompactKeys.Rid(key);
    }

    /// <summary>The keys of the live resources of a type matching a criterion.</summary>
    public string KeysMatching(string type, Criterion criterion)
    {
        if (criterion is not HasCriterion && KeySet(criterion, type) is { } keys) return keys;
        var alias = "r" + ++_depth;
        return $"select {alias}.rid from {ResourceTable} {alias} where {alias}.resource_type = {p.Add(type)} and not {alias}.deleted and {Condition(criterion, alias, type)}";
    }

    // A chain's references into its hop's keys. Under the policy a hop onto Patient is the few residents that match and
    // that the institution may see: taken as an array, each is looked up in the reference index (target_rid = any),
    // where a semi-join, planned for the hop's estimate (all that match), read every reference of that parameter.
    private string ChainKeys(ChainCriterion c, string type)
    {
        var hops = string.Join(" union all ", c.Targets.Select(t => VisibleKeysMatching(t.TargetType, t.Inner)));
        var target = c.Targets.Any(t => PatientSets(t.TargetType)) ? $"x.target_rid = any(array({hops}))" : $"x.target_rid in ({hops})";
        return $"select x.rid from {S}.ix_reference x where x.rtype = {p.Add(type)} and x.param = {p.Add(c.Reference.Name)} and {target}";
    }

    // The targets of the visible sources that match. A _has onto Patient through one of the source's own compartment
    // references (`Patient?_has:EpisodeOfCare:patient:organization=X`) asks the policy of each source through the
    // resident it names first: a source naming a resident the institution cares for is visible (InstitutionAccess.
    // VisibleThrough), which spares reading the source's row for most of them.
    private string HasKeys(HasCriterion c, string type)
    {
        var sources = $"select x.target_rid from {S}.ix_reference x where x.rtype = {p.Add(c.SourceType)} and x.param = {p.Add(c.SourceReference.Name)} and x.target_type = {p.Add(type)}";
        if (type == "Patient" && PolicyAlone(c.SourceType) && policy!.NamesResident(c.SourceType, c.SourceReference.Name))
        {
            var alias = "r" + ++_depth;
            var row = $"exists (select 1 from {ResourceTable} {alias} where {alias}.rid = x.rid and {policy.ConditionFor(c.SourceType, $"{alias}.rid", $"{alias}.data", v => p.Add(v))})";
            return $"{sources} and x.rid in ({KeysMatching(c.SourceType, c.Inner)}) and {policy.VisibleThrough(c.SourceType, "x.rid", "x.target_rid", row, v => p.Add(v))}";
        }
        return $"{sources} and x.rid in ({VisibleKeysMatching(c.SourceType, c.Inner)})";
    }

    // Whether the institution's policy alone governs this type (no patient confinement besides).
    private bool PolicyAlone(string type) => policy is not null && policy.Governs(type) && !(confinement is not null && confinement.Confines(type));

    // Whether a hop onto this type takes InstitutionAccess.VisiblePatients (the policy alone governs it, and it is Patient).
    private bool PatientSets(string type) => type == "Patient" && PolicyAlone(type) && policy!.PatientsAsSets;

    /// <summary>
    /// <see cref="KeysMatching"/> restricted to what the caller may see: under an institution's policy (consent
    /// included) and a patient-scoped token's compartment, a _has source it may not see neither makes a resource
    /// match nor keeps one out of _has-not, and a chain hop's target it may not see makes nothing match (else
    /// `Encounter?subject:Patient.family=X` would tell a resident's current name through an encounter the caller
    /// still sees). Each hop of a multi-level chain comes here again. Without either, or for types they do not
    /// govern (shared data, such as an Organization hop), the plain key set.
    /// </summary>
    private string VisibleKeysMatching(string type, Criterion criterion)
    {
        if (Guarded(type) is not { } visible) return KeysMatching(type, criterion);
        if (PatientSets(type)) return policy!.VisiblePatients(KeysMatching(type, criterion), v => p.Add(v));
        var alias = "r" + ++_depth;
        return $"select {alias}.rid from {ResourceTable} {alias} where {alias}.resource_type = {p.Add(type)} and not {alias}.deleted " +
               $"and {Condition(criterion, alias, type)} and {visible(alias)}";
    }

    /// <summary>
    /// _has-not under a policy: no visible matching source refers to the row, asked per row (correlated), so the
    /// policy is evaluated only for the sources of the rows the other criteria leave, not for every matching source.
    /// </summary>
    private string VisibleSources(HasCriterion has, string alias, string type, Func<string, string> visible)
    {
        var source = "r" + ++_depth;
        return $"select 1 from {S}.ix_reference hx join {ResourceTable} {source} on {source}.rid = hx.rid " +
               $"where hx.target_rid = {alias}.rid and hx.rtype = {p.Add(has.SourceType)} and hx.param = {p.Add(has.SourceReference.Name)} " +
               $"and hx.target_type = {p.Add(type)} and {source}.resource_type = {p.Add(has.SourceType)} and not {source}.deleted " +
               $"and {Condition(has.Inner, source, has.SourceType)} and {visible(source)}";
    }

    // The caller's visibility of a row of this type (alias → SQL), or null when neither the policy nor a patient
    // confinement governs the type (shared data: every row is visible).
    private Func<string, string>? Guarded(string type)
    {
        var governed = policy is not null && policy.Governs(type);
        var confined = confinement is not null && confinement.Confines(type);
        if (!governed && !confined) return null;
        return alias =>
        {
            var parts = new List<string>();
            if (governed) parts.Add(policy!.ConditionFor(type, $"{alias}.rid", $"{alias}.data", v => p.Add(v)));
            if (confined) parts.Add(confinement!.Condition(p.Add(type), $"{alias}.rid", v => p.Add(v)));
            return string.Join(" and ", parts);
        };
    }

    private string? ParamKeySet(ParamCriterion c, string type, string name)
    {
        var param = c.Param;
        if (c.Modifier is "missing" or "not" || param.IsColumn) return null;
        if (param.Type == SearchParamType.Special)
        {
            var column = param.Name == "_text" ? "narrative" : "content";
            return $"select x.rid from {S}.ix_text x where x.rtype = {p.Add(type)} and (" +
                   string.Join(" or ", c.Values.Cast<TextQueryValue>().Select(v => $"x.{column} @@ websearch_to_tsquery('simple', {p.Add(v.Query)})")) + ")";
        }
        if (param.Type == SearchParamType.Reference && c.Modifier == "identifier")
            return Lookup(type, "ix_token", param.Name + ":identifier", Or(c.Values.Cast<TokenValue>().Select(v => TokenCondition(v))));
        return Lookup(type, Table(param), param.Name, Or(c.Values.Select(v => ValueCondition(param, c.Modifier, v, name))));
    }

    private string ParamCondition(ParamCriterion c, string alias, string type, string name)
    {
        var param = c.Param;
        if (c.Values is [MissingValue { Missing: var missing }])
        {
            if (param.IsColumn) return missing ? "false" : "true";
            var table = param.Type == SearchParamType.Special ? "ix_text" : Table(param);
            var any = $"{alias}.rid in (select x.rid from {S}.{table} x where x.rtype = {p.Add(type)}" + (table == "ix_text" ? ")" : $" and x.param = {p.Add(param.Name)})");
            return missing ? $"not {any}" : any;
        }
        if (param.Name == "_id")
        {
            var ids = p.Add(c.Values.Cast<IdValue>().Select(v => v.Id).ToArray());
            return c.Modifier == "not" ? $"{alias}.resource_id <> all({ids})" : $"{alias}.resource_id = any({ids})";
        }
        if (param.Name == "_lastUpdated")
            return Or(c.Values.Cast<DateValue>().Select(v => DateCondition(v, $"{alias}.last_updated", $"({alias}.last_updated + interval '1 millisecond')")));
        // :not — resources with no value that matches
        return $"not {alias}.rid in ({ParamKeySet(c with { Modifier = null }, type, name)})";
    }

    private string Lookup(string type, string table, string param, string where) =>
        $"select x.rid from {S}.{table} x where x.rtype = {p.Add(type)} and x.param = {p.Add(param)} and ({where})";

    private static string B(string text) => IndexText.Bound(text);

    private static string Table(SearchParam param) => "ix_" + param.Table.ToString().ToLowerInvariant();

    private static string Or(IEnumerable<string> parts)
    {
        var list = parts.ToList();
        return list.Count == 1 ? list[0] : "(" + string.Join(" or ", list) + ")";
    }

    private string ValueCondition(SearchParam param, string? modifier, SearchValue value, string name) => value switch
    {
        StringValue v => modifier switch
        {
            "exact" => $"x.exact = {p.Add(B(v.Exact))}",
            "contains" => $"x.value like {p.Add("%" + SearchValues.LikePrefix(B(v.Normalized)) + "%")}",
            _ => $"x.value like {p.Add(SearchValues.LikePrefix(B(v.Normalized)) + "%")}",
        },
        TokenTextValue v => $"x.text like {p.Add(SearchValues.LikePrefix(B(v.Normalized)) + "%")}",
        OfTypeValue v => $"(x.type_key = {p.Add(B(v.TypeSystem + "|" + v.TypeCode))} and x.code = {p.Add(B(v.Value))})",
        TokenValue v => TokenCondition(v),
        DateValue v => DateCondition(v, "x.lo", "x.hi", rangeIndex: true),
        NumberValue v => NumberCondition(v, "x.value"),
        QuantityValue v => QuantityCondition(v, QuantityColumns.Plain),
        ReferenceValue v => v.Form switch
        {
            ReferenceForm.Url => $"x.url = {p.Add(B(v.Value))}",
            ReferenceForm.Key => $"x.target_rid = {p.Add(CompactKeys.Rid(v.Value))}",
            _ => $"x.target_id = {p.Add(v.Value)}",
        },
        UriValue v => modifier switch
        {
            "below" => $"x.value like {p.Add(SearchValues.LikePrefix(B(v.Text)) + "%")}",
            "above" => $"{p.Add(B(v.Text))} like (x.value || '%')",
            "contains" => $"x.value like {p.Add("%" + SearchValues.LikePrefix(B(v.Text)) + "%")}",
            _ => $"x.value = {p.Add(B(v.Text))}",
        },
        CompositeValue v => CompositeCondition(v),
        _ => throw FhirException.BadRequest($"Parameter '{name}' cannot be searched this way.", name),
    };

    /// <param name="systemColumn">The columns compared: ix_token's own, or a composite's second component.</param>
    private string TokenCondition(TokenValue value, string systemColumn = "x.system", string codeColumn = "x.code")
    {
        var system = IndexText.Bound(value.System);
        var code = IndexText.Bound(value.Code);
        if (!value.HasSystem) return $"{codeColumn} = {p.Add(code)}";
        if (code is null) return system is null ? "true" : $"{systemColumn} = {p.Add(system)}";
        return system is null
            ? $"({systemColumn} is null and {codeColumn} = {p.Add(code)})"
            : $"({systemColumn} = {p.Add(system)} and {codeColumn} = {p.Add(code)})";
    }

    // The index row's period [lo, hi) overlaps [from, to): hi > from and lo < to, through the GiST range index.
    private string Overlaps(DateTimeOffset from, DateTimeOffset to) =>
        $"tstzrange(x.lo, x.hi, '[)') && tstzrange({p.Add(from, NpgsqlDbType.TimestampTz)}, {p.Add(to, NpgsqlDbType.TimestampTz)}, '[)')";

    /// <param name="rangeIndex">The columns are ix_date's, which the GiST range index serves.</param>
    private string DateCondition(DateValue value, string lo, string hi, bool rangeIndex = false)
    {
        var (prefix, slo, shi) = value;
        string A(DateTimeOffset d) => p.Add(d, NpgsqlDbType.TimestampTz);
        return prefix switch
        {
            Prefix.Eq when rangeIndex => $"tstzrange(x.lo, x.hi, '[)') <@ tstzrange({A(slo)}, {A(shi)}, '[)')",
            Prefix.Ap when rangeIndex => Overlaps(Shift(slo, -ApGap(slo)), Shift(shi, ApGap(slo))),
            Prefix.Eq => $"({lo} >= {A(slo)} and {hi} <= {A(shi)})",
            Prefix.Ne => $"not ({lo} >= {A(slo)} and {hi} <= {A(shi)})",
            Prefix.Gt => $"{hi} > {A(shi)}",
            Prefix.Lt => $"{lo} < {A(slo)}",
            Prefix.Ge => $"{hi} > {A(slo)}",
            Prefix.Le => $"{lo} < {A(shi)}",
            Prefix.Sa => $"{lo} >= {A(shi)}",
            Prefix.Eb => $"{hi} <= {A(slo)}",
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

    private string NumberCondition(NumberValue v, string column)
    {
        string A(decimal d) => p.Add(d, NpgsqlDbType.Numeric);
        return v.Prefix switch
        {
            Prefix.Eq => $"({column} >= {A(v.Lo)} and {column} < {A(v.Hi)})",
            Prefix.Ne => $"not ({column} >= {A(v.Lo)} and {column} < {A(v.Hi)})",
            Prefix.Gt or Prefix.Sa => $"{column} > {A(v.Value)}",
            Prefix.Lt or Prefix.Eb => $"{column} < {A(v.Value)}",
            Prefix.Ge => $"{column} >= {A(v.Value)}",
            Prefix.Le => $"{column} <= {A(v.Value)}",
            _ => $"({column} >= {A(Approx(v.Value, -1))} and {column} <= {A(Approx(v.Value, 1))})",
        };
    }

    // ap: within 10 % of the value, stopping at the ends of decimal's range.
    private static decimal Approx(decimal value, int sign)
    {
        try { return value + sign * Math.Abs(value) * 0.1m; }
        catch (OverflowException) { return sign > 0 ? decimal.MaxValue : decimal.MinValue; }
    }

    private string CompositeCondition(CompositeValue v)
    {
        var (system, code) = (IndexText.Bound(v.First.System), IndexText.Bound(v.First.Code));
        var first = v.First.HasSystem && system is not null ? $"x.system = {p.Add(system)} and x.code = {p.Add(code)}" : $"x.code = {p.Add(code)}";
        var second = v.Second switch
        {
            QuantityValue q => QuantityCondition(q, QuantityColumns.Composite),
            NumberValue n => NumberCondition(n, "x.v_number"),
            DateValue d => DateCondition(d, "x.v_lo", "x.v_hi"),
            StringValue t => $"x.v_text like {p.Add(SearchValues.LikePrefix(B(t.Normalized)) + "%")}",
            TokenValue t => TokenCondition(t, "x.v_system", "x.v_code"),
            _ => throw new ArgumentOutOfRangeException(nameof(v)),
        };
        return $"({first} and {second})";
    }

    // A UCUM search value in canonical units, or null to compare as written.
    private static NumberValue? Canonical(QuantityValue q, out string? unit)
    {
        unit = null;
        if (Ucum.Unit(q.System, q.Code) is not { } u || Ucum.Scale(q.Number.Value, u.Factor) is not { } v
            || Ucum.Scale(q.Number.Lo, u.Factor) is not { } lo || Ucum.Scale(q.Number.Hi, u.Factor) is not { } hi) return null;
        unit = u.Code;
        return q.Number with { Value = v, Lo = lo, Hi = hi };
    }

    /// <summary>Where a quantity lives: ix_quantity's own columns, or the second component of an ix_composite row.</summary>
    private sealed record QuantityColumns(string Value, string System, string CanonCode, string CanonValue, params string[] Codes)
    {
        public static readonly QuantityColumns Plain = new("x.value", "x.system", "x.canon_code", "x.canon_value", "x.code", "x.unit");
        public static readonly QuantityColumns Composite = new("x.v_number", "x.v_system", "x.v_canon_code", "x.v_canon_number", "x.v_code");
    }

    private string QuantityCondition(QuantityValue q, QuantityColumns col)
    {
        if (Canonical(q, out var unit) is { } canonical) // any unit of the same dimension, compared canonically
            return $"({col.CanonCode} = {p.Add(unit)} and {NumberCondition(canonical, col.CanonValue)})";
        var cond = NumberCondition(q.Number, col.Value);
        if (q.Code is not null)
        {
            var code = p.Add(B(q.Code));
            cond += " and (" + string.Join(" or ", col.Codes.Select(column => $"{column} = {code}")) + ")";
        }
        if (q.System is not null) cond += $" and {col.System} = {p.Add(B(q.System))}";
        return "(" + cond + ")";
    }

    // The types whose "priority" parameter is the request-priority code.
    private static readonly HashSet<string> RequestPriority =
        ["ServiceRequest", "Task", "MedicationRequest", "CommunicationRequest", "Communication", "DeviceRequest", "RequestGroup"];

    /// <summary>A sort key as an SQL expression (never null: missing values sort as the smallest).</summary>
    public string SortExpression(SortKey key, string alias, out string sqlType)
    {
        if (key.Name == "_lastUpdated") { sqlType = "timestamptz"; return $"{alias}.last_updated"; }
        if (key.Name == "_id") { sqlType = "text"; return $"{alias}.resource_id"; }
        var param = key.Param!;
        var agg = key.Descending ? "max" : "min";
        if (RequestPriority.Contains(param.Resource) && param is { Name: "priority", Type: SearchParamType.Token })
        {
            // request-priority's codes have an order: routine < urgent < asap < stat (a worklist sorts by it, not alphabetically).
            sqlType = "bigint";
            return $"coalesce((select {agg}(array_position(array['routine','urgent','asap','stat'], x.code)) from {S}.{Table(param)} x " +
                   $"where x.rid = {alias}.rid and x.param = {p.Add(param.Name)}), 0)";
        }
        var (column, type, floor) = param.Type switch
        {
            SearchParamType.Date => (key.Descending ? "hi" : "lo", "timestamptz", "'-infinity'::timestamptz"),
            SearchParamType.Number or SearchParamType.Quantity => ("value", "numeric", "'-Infinity'::numeric"),
            SearchParamType.Token => ("code", "text", "''"),
            SearchParamType.Reference => ("target_type || '/' || x.target_id", "text", "''"),
            _ => ("value", "text", "''"),
        };
        sqlType = type;
        return $"coalesce((select {agg}(x.{column}) from {S}.{Table(param)} x where x.rid = {alias}.rid and x.param = {p.Add(param.Name)}), {floor})";
    }
}
