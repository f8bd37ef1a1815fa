using Interop.Fhir.Indexing;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;

namespace Interop.Fhir.Search;

/// <summary>
/// Turns (name, value) pairs into a <see cref="SearchQuery"/>. Unknown parameters are warnings under lenient
/// handling and 400 under strict; malformed values are always 400 naming the parameter.
/// </summary>
public static class SearchQueryParser
{
    private static readonly HashSet<string> Ignored = ["_format", "_pretty", "_summary", "_elements"];
    private static readonly HashSet<string> Unsupported = ["_contained", "_containedType", "_list", "_query", "_filter"];

    /// <param name="known">The server's search parameters (with those defined at run time); the fixed ones when null.</param>
    public static SearchQuery Parse(IReadOnlyList<string> types, IEnumerable<KeyValuePair<string, string>> parameters, bool strict, int defaultCount, int maxCount,
        SearchParams? known = null)
    {
        known ??= SearchParams.Core;
        var query = new SearchQuery { Types = types, Count = defaultCount };
        foreach (var (name, value) in parameters)
        {
            CheckParameter(name, value);
            if (Ignored.Contains(name)) continue;
            switch (name)
            {
                case "_count":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                        throw FhirException.BadRequest($"_count must be a whole number ≥ 0, not '{value}'.", "_count");
                    query.Count = Math.Min(count, maxCount);
                    query.Echo.Add(new(name, query.Count.ToString(CultureInfo.InvariantCulture)));
                    continue;
                case "_total":
                    query.Total = value switch
                    {
                        "none" => TotalMode.None, "estimate" => TotalMode.Estimate, "accurate" => TotalMode.Accurate,
                        _ => throw FhirException.BadRequest($"_total must be none, estimate or accurate; not '{value}'.", "_total"),
                    };
                    query.Echo.Add(new(name, value));
                    continue;
                case "_sort":
                    ParseSort(query, value, known);
                    query.Echo.Add(new(name, value));
                    continue;
                case "_include" or "_include:iterate" or "_include:recurse":
                    query.Includes.Add(ParseInclude(name, value, name != "_include", reverse: false, query.Types, known));
                    query.Echo.Add(new(name, value));
                    continue;
                case "_revinclude" or "_revinclude:iterate" or "_revinclude:recurse":
                    query.RevIncludes.Add(ParseInclude(name, value, name != "_revinclude", reverse: true, query.Types, known));
                    query.Echo.Add(new(name, value));
                    continue;
                case "_cursor":
                    query.Cursor = DecodeCursor(value);
                    continue;
                case "_type":
                    continue; // resolved by the caller into Types
            }
            if (Unsupported.Contains(name.Split(':')[0]))
            {
                Unknown(query, strict, name, $"Parameter '{name}' is not supported by this server.");
                continue;
            }
            var criterion = ParseCriterion(query.Types, name, value, strict, query, known);
            if (criterion is not null)
            {
                query.Criteria.Add(criterion);
                query.Echo.Add(new(name, value));
            }
        }
        if (query.Criteria.Count > Limits.SearchCriteria)
            throw TooCostly($"The search has {query.Criteria.Count} criteria; the limit is {Limits.SearchCriteria}.", query.Criteria.Count.ToString(CultureInfo.InvariantCulture));
        if (query.Includes.Count + query.RevIncludes.Count > Limits.Includes)
            throw TooCostly($"The search has {query.Includes.Count + query.RevIncludes.Count} _include/_revinclude parameters; the limit is {Limits.Includes}.", "_include");
        if (query.Sort.Count > Limits.SortKeys)
            throw TooCostly($"_sort has {query.Sort.Count} keys; the limit is {Limits.SortKeys}.", "_sort");
        return query;
    }

    /// <summary>
    /// A parameter defined at run time whose existing resources are not all indexed yet: a search would silently miss
    /// them, so it is refused (409, Retry-After) until the backfill finishes.
    /// </summary>
    private static FhirException BeingIndexed(SearchParam param) =>
        new(ErrorKind.Conflict, Outcomes.Error(OperationOutcome.IssueType.Incomplete,
            $"Search parameter '{param.Name}' of {param.Resource} (SearchParameter/{param.DefinedBy}) is being indexed: the {param.Resource} resources stored " +
            "before it was defined are not all in its index yet. Retry when the backfill has finished (the CapabilityStatement's searchParam says how far it is).",
            param.Name)) { RetryAfter = 5 };

    private static FhirException TooCostly(string message, string expression) =>
        FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.TooCostly, message + " Narrow the search, or split it into several.", expression);

    /// <summary>
    /// Refuses, before any parsing or SQL, what no search can mean: characters FHIR does not allow (a NUL would also
    /// break the database statement), more OR-ed values than the limit, chains and _has nested deeper than the limit.
    /// </summary>
    private static void CheckParameter(string name, string value)
    {
        InputGuard.CheckText(name, "a search parameter name");
        InputGuard.CheckText(value, name);
        var depth = Math.Max(name.Count(c => c == '.'), CountOf(name, "_has:") + CountOf(name, "_has-not:"));
        if (depth > Limits.ChainDepth)
            throw TooCostly($"'{name}' chains or nests _has {depth} levels deep; the limit is {Limits.ChainDepth}.", name);
        if (value.Count(c => c == ',') >= Limits.SearchValues)
            throw TooCostly($"'{name}' has more than {Limits.SearchValues} comma-separated values; the limit is {Limits.SearchValues}.", name);
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    private static void Unknown(SearchQuery query, bool strict, string name, string message)
    {
        if (strict) throw FhirException.BadRequest(message + " (Prefer: handling=strict)", name);
        query.Warnings.Add(message + " It was ignored.");
    }

    /// <summary>Parses one "name[:modifier][.chain]" = value pair against every searched type.</summary>
    private static Criterion? ParseCriterion(IReadOnlyList<string> types, string name, string value, bool strict, SearchQuery query, SearchParams known)
    {
        // A system search over several types uses the definition of the first type that has the parameter.
        foreach (var type in types)
        {
            var criterion = TryParse(type, name, value, out var problem, known);
            if (criterion is not null) return criterion;
            if (problem is not null && types.Count == 1)
            {
                Unknown(query, strict, name, problem);
                return null;
            }
        }
        Unknown(query, strict, name, $"Unknown search parameter '{name}' for {string.Join(", ", types)}.");
        return null;
    }

    /// <summary>One criterion parsed as if from a URL: for behaviours and rewriters that add criteria to a query.</summary>
    public static Criterion Criterion(string type, string name, string value)
    {
        CheckParameter(name, value);
        return TryParse(type, name, value, out var problem) ?? throw FhirException.BadRequest(problem ?? $"Cannot search {type} by '{name}'.", name);
    }

    internal static Criterion? TryParse(string type, string name, string value, out string? problem, SearchParams? known = null)
    {
        problem = null;
        known ??= SearchParams.Core;
        if (name.StartsWith("_has:", StringComparison.Ordinal)) return ParseHas(type, name, value, out problem, known);
        // Interop's negation of _has: the resources no resource of the type refers to with a match (no active contract).
        if (name.StartsWith("_has-not:", StringComparison.Ordinal)) return ParseHas(type, "_has:" + name["_has-not:".Length..], value, out problem, known) is HasCriterion has ? has with { Negated = true } : null;

        var dot = name.IndexOf('.');
        var head = dot < 0 ? name : name[..dot];
        var colon = head.IndexOf(':');
        var paramName = colon < 0 ? head : head[..colon];
        var modifier = colon < 0 ? null : head[(colon + 1)..];
        var param = known.Find(type, paramName);
        if (param is null)
        {
            problem = $"Unknown search parameter '{paramName}' for {type}.";
            return null;
        }
        if (param.Pending) throw BeingIndexed(param);
        if (dot >= 0)
        {
            if (param.Type != SearchParamType.Reference)
                throw FhirException.BadRequest($"'{paramName}' is not a reference parameter, so it cannot be chained.", name);
            var rest = name[(dot + 1)..];
            var targets = modifier is not null ? [modifier] : param.Targets.Where(ResourceTypes.All.Contains).ToList();
            var inner = new List<(string, Criterion)>();
            foreach (var target in targets)
            {
                ResourceTypes.Require(target);
                var c = TryParse(target, rest, value, out _, known);
                if (c is not null) inner.Add((target, c));
            }
            if (inner.Count == 0)
                throw FhirException.BadRequest($"Chained parameter '{rest}' is not defined for any target of {type}.{paramName} ({string.Join(", ", targets)}).", name);
            return new ChainCriterion(param, inner);
        }
        ValidateModifier(param, modifier, name);
        var values = SplitValues(value);
        if (values.Count == 0) throw FhirException.BadRequest($"Parameter '{name}' has no value.", name);
        // Every value is parsed here, once: a malformed one is a 400 before any SQL is built.
        return new ParamCriterion(param, modifier, values.Select(v => SearchValues.Parse(param, modifier, v, name)).ToList());
    }

    private static Criterion? ParseHas(string type, string name, string value, out string? problem, SearchParams known)
    {
        problem = null;
        // _has:SourceType:referenceParam:rest
        var parts = name.Split(':', 4);
        if (parts.Length < 4)
            throw FhirException.BadRequest($"'{name}' must have the form _has:Type:reference:parameter.", name);
        var (sourceType, referenceName, rest) = (parts[1], parts[2], parts[3]);
        if (!ResourceTypes.All.Contains(sourceType)) throw FhirException.BadRequest($"'{sourceType}' in {name} is not a resource type.", name);
        var reference = known.Find(sourceType, referenceName);
        if (reference is not { Type: SearchParamType.Reference })
            throw FhirException.BadRequest($"'{referenceName}' is not a reference parameter of {sourceType}.", name);
        if (reference.Pending) throw BeingIndexed(reference);
        var inner = TryParse(sourceType, rest, value, out var innerProblem, known)
                    ?? throw FhirException.BadRequest(innerProblem ?? $"Cannot search {sourceType} by '{rest}'.", name);
        return new HasCriterion(sourceType, reference, inner);
    }

    private static readonly Dictionary<SearchParamType, string[]> Modifiers = new()
    {
        [SearchParamType.String] = ["exact", "contains", "missing"],
        [SearchParamType.Token] = ["not", "text", "missing", "of-type"],
        [SearchParamType.Date] = ["missing"],
        [SearchParamType.Number] = ["missing"],
        [SearchParamType.Quantity] = ["missing"],
        [SearchParamType.Reference] = ["missing", "identifier"],
        [SearchParamType.Uri] = ["below", "above", "contains", "missing"],
        [SearchParamType.Composite] = ["missing"],
        [SearchParamType.Special] = [],
    };

    private static void ValidateModifier(SearchParam param, string? modifier, string name)
    {
        if (modifier is null) return;
        if (param.Type == SearchParamType.Reference && ResourceTypes.All.Contains(modifier)) return;
        if (!Modifiers[param.Type].Contains(modifier))
            throw FhirException.BadRequest(
                $"Modifier ':{modifier}' is not supported for {param.Type.ToString().ToLowerInvariant()} parameter '{param.Name}' (supported: {string.Join(", ", Modifiers[param.Type].Select(m => ":" + m))}).", name);
        if (param.Name == "_id" && modifier is not ("not" or "missing"))
            throw FhirException.BadRequest($"Modifier ':{modifier}' is not supported for _id.", name);
    }

    /// <summary>Splits on commas not escaped with a backslash; unescapes \, \$ \| \\ .</summary>
    public static List<string> SplitValues(string value)
    {
        var values = new List<string>();
        var current = new StringBuilder();
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\\' && i + 1 < value.Length && value[i + 1] is ',' or '\\') { current.Append(value[++i]); continue; }
            if (c == ',') { values.Add(current.ToString()); current.Clear(); continue; }
            current.Append(c);
        }
        values.Add(current.ToString());
        return values.Where(v => v.Length > 0).ToList();
    }

    private static void ParseSort(SearchQuery query, string value, SearchParams known)
    {
        foreach (var raw in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var descending = raw.StartsWith('-');
            var name = raw.TrimStart('-');
            if (name is "_id" or "_lastUpdated") { query.Sort.Add(new SortKey(name, null, descending)); continue; }
            var param = query.Types.Select(t => known.Find(t, name)).FirstOrDefault(p => p is not null);
            if (param is { Pending: true }) throw BeingIndexed(param);
            if (param is null || param.Type is SearchParamType.Composite or SearchParamType.Special)
                throw FhirException.BadRequest($"Cannot sort by '{name}': not a sortable search parameter of {string.Join(", ", query.Types)}.", "_sort");
            query.Sort.Add(new SortKey(name, param, descending));
        }
    }

    private static IncludeSpec ParseInclude(string name, string value, bool iterate, bool reverse, IReadOnlyList<string> types, SearchParams known)
    {
        if (value == "*") return new IncludeSpec("*", "*", null, iterate);
        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || !ResourceTypes.All.Contains(parts[0]))
            throw FhirException.BadRequest($"{name} must be Type:parameter[:TargetType] or *, not '{value}'.", name);
        var reference = parts[1] == "*" ? null : known.Find(parts[0], parts[1]);
        if (parts[1] != "*" && reference is not { Type: SearchParamType.Reference })
            throw FhirException.BadRequest($"'{parts[1]}' is not a reference parameter of {parts[0]}.", name);
        if (reference is { Pending: true }) throw BeingIndexed(reference);
        if (parts.Length == 3 && !ResourceTypes.All.Contains(parts[2]))
            throw FhirException.BadRequest($"'{parts[2]}' in {name} is not a resource type.", name);
        if (!reverse && !iterate && !types.Contains(parts[0]))
            throw FhirException.BadRequest($"{name}={value}: {parts[0]} is not a searched type (use :iterate to include from included resources).", name);
        return new IncludeSpec(parts[0], parts[1], parts.Length == 3 ? parts[2] : null, iterate);
    }

    public static string EncodeCursor(Cursor cursor) =>
        Base64Url.Encode(JsonSerializer.SerializeToUtf8Bytes(new object?[] { cursor.Forward, cursor.Key, cursor.Values }));

    private static Cursor DecodeCursor(string value)
    {
        try
        {
            var doc = JsonDocument.Parse(Base64Url.Decode(value) ?? throw new FormatException()).RootElement;
            return new Cursor(doc[0].GetBoolean(), doc[2].EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? null : e.GetString()).ToList(), doc[1].GetString()!);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or IndexOutOfRangeException)
        {
            throw FhirException.BadRequest("_cursor is not a paging cursor issued by this server.", "_cursor");
        }
    }
}
