using System.Collections.Frozen;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;
using Hl7.FhirPath.Expressions;
using Interop.Fhir.Model;

namespace Interop.Fhir.Indexing;

/// <summary>
/// Every R4 search parameter (ModelInfo.SearchParameters) per resource type, plus the common ones
/// (_id, _lastUpdated, _tag, _profile, _security, _source, _text, _content). Expressions shared by many
/// types ("AllergyIntolerance.patient | CarePlan.subject...") are cut to the branches of each type and
/// compiled once.
/// </summary>
public static class SearchParamRegistry
{
    public static readonly FhirPathCompiler Compiler = new(new SymbolTable().AddStandardFP().AddFhirExtensions());

    private static readonly Lazy<FrozenDictionary<string, FrozenDictionary<string, SearchParam>>> ByType = new(Build);

    public static IReadOnlyDictionary<string, SearchParam> For(string type) =>
        ByType.Value.TryGetValue(type, out var map) ? map : FrozenDictionary<string, SearchParam>.Empty;

    public static SearchParam? Find(string type, string name) => For(type).GetValueOrDefault(name);

    /// <summary>Forces compilation of every expression (at start-up, so the first write does not pay for it).</summary>
    public static int Warm() => ByType.Value.Sum(t => t.Value.Count);

    /// <summary>
    /// The group's search parameters: SearchParameter resources in profiles/ beside the server (the implementation
    /// guide), indexed on every write like the core ones. One added at run time is layered over these by the server
    /// that stores it (<see cref="SearchParams"/>, Storage/SearchParamCatalog).
    /// </summary>
    public static IReadOnlyList<SearchParamDefinition> Group { get; } = LoadGroup();

    private static List<SearchParamDefinition> LoadGroup()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "profiles");
        if (!Directory.Exists(folder)) return [];
        var result = new List<SearchParamDefinition>();
        foreach (var file in Directory.GetFiles(folder, "SearchParameter-*.json").Order(StringComparer.Ordinal))
        {
            var sp = (SearchParameter)Formats.FhirSerialization.ParseJson(File.ReadAllBytes(file));
            foreach (var type in sp.Base.Where(t => t is not null))
                result.Add(new SearchParamDefinition
                {
                    Resource = type!.ToString(), Name = sp.Code, Url = sp.Url, Type = sp.Type ?? SearchParamType.String, Expression = sp.Expression,
                    Target = sp.Target.Where(t => t is not null).Select(t => Enum.Parse<VersionIndependentResourceTypesAll>(t!.ToString()!)).ToArray(), Description = sp.Description,
                });
        }
        return result;
    }

    private static FrozenDictionary<string, FrozenDictionary<string, SearchParam>> Build()
    {
        var definitions = ModelInfo.SearchParameters.Concat(Group).ToList();
        var byUrl = definitions.Where(p => p.Url is not null).GroupBy(p => p.Url!).ToDictionary(g => g.Key, g => g.First());
        var result = new Dictionary<string, FrozenDictionary<string, SearchParam>>();
        foreach (var type in ResourceTypes.All)
        {
            var map = new Dictionary<string, SearchParam>(StringComparer.Ordinal);
            foreach (var common in Common(type)) map[common.Name] = common;
            foreach (var def in definitions.Where(p => p.Resource == type && !string.IsNullOrEmpty(p.Expression)))
            {
                var expression = BranchesFor(type, def.Expression!);
                var components = (def.Component ?? [])
                    .Select(c => byUrl.TryGetValue(c.Definition, out var d)
                        ? new CompositePart(d.Type, Compiler.Compile(c.Expression), c.Expression) : null)
                    .OfType<CompositePart>().ToList();
                if (def.Type == SearchParamType.Composite && components.Count != def.Component?.Length) continue;
                map[def.Name!] = new SearchParam(type, def.Name!, def.Type, expression, Compiler.Compile(expression),
                    (def.Target ?? []).Select(t => t.ToString()).ToList(), components, def.Url ?? "")
                {
                    Fast = def.Type == SearchParamType.Composite ? null : FastPath.TryCompile(type, expression),
                };
            }
            result[type] = map.ToFrozenDictionary(StringComparer.Ordinal);
        }
        return result.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static IEnumerable<SearchParam> Common(string type)
    {
        SearchParam P(string name, SearchParamType t, string expr) =>
            new(type, name, t, expr, expr == "" ? null : Compiler.Compile(expr), [], [], $"http://hl7.org/fhir/SearchParameter/Resource-{name.TrimStart('_')}")
            {
                Fast = expr == "" ? null : FastPath.TryCompile(type, expr),
            };
        yield return P("_id", SearchParamType.Token, "");
        yield return P("_lastUpdated", SearchParamType.Date, "");
        yield return P("_tag", SearchParamType.Token, "meta.tag");
        yield return P("_security", SearchParamType.Token, "meta.security");
        yield return P("_profile", SearchParamType.Uri, "meta.profile");
        yield return P("_source", SearchParamType.Uri, "meta.source");
        yield return P("_text", SearchParamType.Special, "");
        yield return P("_content", SearchParamType.Special, "");
    }

    /// <summary>Keeps the union branches of a shared expression that apply to <paramref name="type"/>.</summary>
    public static string BranchesFor(string type, string expression)
    {
        var branches = SplitUnion(expression);
        if (branches.Count == 1) return expression;
        var mine = branches.Where(b => StartsWithType(b, type)).ToList();
        return mine.Count == 0 ? expression : string.Join(" | ", mine);
    }

    private static bool StartsWithType(string branch, string type)
    {
        var b = branch.TrimStart('(', ' ');
        return b.StartsWith(type + ".", StringComparison.Ordinal) || b.StartsWith(type + " ", StringComparison.Ordinal);
    }

    private static List<string> SplitUnion(string expression)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        var quoted = false;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (c == '\'') quoted = !quoted;
            else if (!quoted && c == '(') depth++;
            else if (!quoted && c == ')') depth--;
            else if (!quoted && depth == 0 && c == '|')
            {
                parts.Add(expression[start..i].Trim());
                start = i + 1;
            }
        }
        parts.Add(expression[start..].Trim());
        return parts;
    }
}
