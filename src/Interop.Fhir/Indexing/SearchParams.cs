using System.Collections.Frozen;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Model;

namespace Interop.Fhir.Indexing;

/// <summary>
/// The search parameters one server knows at one moment: the fixed ones (<see cref="SearchParamRegistry"/>: the
/// specification's and the guide's files) with, over them, the SearchParameters stored at run time. Immutable: a
/// change builds a new set (Storage/SearchParamCatalog swaps it), so a search or a write uses one consistent set.
/// Per server, not per process: test servers on other databases in one process each have their own.
/// </summary>
public sealed class SearchParams
{
    /// <summary>The fixed parameters alone (command-line tools, the access policy's own criteria).</summary>
    public static SearchParams Core { get; } = new(FrozenDictionary<string, FrozenDictionary<string, SearchParam>>.Empty, []);

    private readonly FrozenDictionary<string, FrozenDictionary<string, SearchParam>> _overlay;

    private SearchParams(FrozenDictionary<string, FrozenDictionary<string, SearchParam>> overlay, IReadOnlyList<string> problems)
    {
        _overlay = overlay;
        Problems = problems;
    }

    /// <summary>Stored SearchParameters that could not be used (logged by the catalog; a check refuses such uploads).</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>The types whose parameters differ from the fixed ones.</summary>
    public IEnumerable<string> Extended => _overlay.Keys;

    public IReadOnlyDictionary<string, SearchParam> For(string type) =>
        _overlay.TryGetValue(type, out var map) ? map : SearchParamRegistry.For(type);

    public SearchParam? Find(string type, string name) => For(type).GetValueOrDefault(name);

    /// <summary>
    /// The set with the stored SearchParameters (each with whether its backfill has finished) over the fixed ones. One that
    /// repeats a fixed definition (the guide's files are stored too) changes nothing; one that cannot be compiled is left out.
    /// </summary>
    public static SearchParams With(IEnumerable<(SearchParameter Definition, bool Ready)> stored)
    {
        var added = new Dictionary<string, Dictionary<string, SearchParam>>();
        var problems = new List<string>();
        foreach (var (sp, ready) in stored)
        {
            foreach (var type in Bases(sp))
            {
                try
                {
                    var param = Compile(sp, type) with { DefinedBy = sp.Id, Pending = !ready };
                    if (SearchParamRegistry.Find(type, param.Name) is { } fixedOne && fixedOne.Url == param.Url && fixedOne.Expression == param.Expression) continue;
                    if (!added.TryGetValue(type, out var map)) added[type] = map = new(StringComparer.Ordinal);
                    map[param.Name] = param;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    problems.Add($"SearchParameter/{sp.Id} on {type}: {e.Message}");
                }
            }
        }
        var overlay = added.ToFrozenDictionary(t => t.Key, t =>
        {
            var map = new Dictionary<string, SearchParam>(SearchParamRegistry.For(t.Key), StringComparer.Ordinal);
            foreach (var (name, param) in t.Value) map[name] = param;
            return map.ToFrozenDictionary(StringComparer.Ordinal);
        });
        return new SearchParams(overlay, problems);
    }

    /// <summary>A set that holds <paramref name="param"/> alone for its type: to index one parameter as it was defined.</summary>
    public static SearchParams Only(SearchParam param) => new(
        new Dictionary<string, FrozenDictionary<string, SearchParam>>
        {
            [param.Resource] = new Dictionary<string, SearchParam> { [param.Name] = param }.ToFrozenDictionary(StringComparer.Ordinal),
        }.ToFrozenDictionary(), []);

    private static readonly SearchParamType[] Indexable =
    [
        SearchParamType.String, SearchParamType.Token, SearchParamType.Date, SearchParamType.Number,
        SearchParamType.Quantity, SearchParamType.Reference, SearchParamType.Uri,
    ];

    /// <summary>
    /// Refuses (400, naming the element) a SearchParameter this server could not index or that would change the meaning of
    /// another: no url or code, a code that is not a plain name, a type the index has no table for (composite, special), an
    /// expression FHIRPath cannot compile, a base that is not a resource type, a code another parameter of a base already has.
    /// </summary>
    public void Check(SearchParameter sp)
    {
        if (string.IsNullOrWhiteSpace(sp.Url)) throw Refused("A SearchParameter needs a url: it is how an update finds the parameter it replaces.", "url");
        if (string.IsNullOrWhiteSpace(sp.Code) || !System.Text.RegularExpressions.Regex.IsMatch(sp.Code, "^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$"))
            throw Refused($"The code '{sp.Code}' is not a search parameter name: letters, digits, '-' and '_', not starting with '_' or '-' (at most 64).", "code");
        if (sp.Type is not { } type || !Indexable.Contains(type))
            throw Refused($"The type '{sp.Type?.ToString().ToLowerInvariant() ?? "(none)"}' cannot be indexed here; supported: {string.Join(", ", Indexable.Select(t => t.ToString().ToLowerInvariant()))}.", "type");
        if (string.IsNullOrWhiteSpace(sp.Expression)) throw Refused("A SearchParameter needs a FHIRPath expression: it says what is indexed.", "expression");
        var bases = sp.Base.Select(b => b?.ToString()).ToList();
        if (bases.Count == 0) throw Refused("A SearchParameter needs at least one base resource type.", "base");
        foreach (var (b, i) in bases.Select((b, i) => (b, i)))
            if (b is null || !ResourceTypes.All.Contains(b)) throw Refused($"'{b}' is not a resource type this server stores.", $"base[{i}]");
        foreach (var target in sp.Target.Select(t => t?.ToString()))
            if (target is null || !ResourceTypes.All.Contains(target)) throw Refused($"'{target}' is not a resource type.", "target");
        foreach (var b in bases)
        {
            try
            {
                Compile(sp, b!);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw Refused($"The expression '{sp.Expression}' does not compile as FHIRPath: {e.Message}", "expression");
            }
            if (Find(b!, sp.Code) is { } existing && existing.Url != sp.Url)
                throw Refused($"{b} already has a search parameter '{sp.Code}' ({existing.Url}); choose another code.", "code");
        }
    }

    private static FhirException Refused(string message, string element) => FhirException.BadRequest(message, "SearchParameter." + element);

    private static IEnumerable<string> Bases(SearchParameter sp) =>
        sp.Base.Select(b => b?.ToString()).OfType<string>().Where(ResourceTypes.All.Contains).Distinct();

    private static SearchParam Compile(SearchParameter sp, string type)
    {
        if (sp.Type is not { } kind || !Indexable.Contains(kind) || string.IsNullOrWhiteSpace(sp.Code) || string.IsNullOrWhiteSpace(sp.Expression))
            throw new InvalidOperationException("not an indexable search parameter (type, code, expression)");
        var expression = SearchParamRegistry.BranchesFor(type, sp.Expression);
        return new SearchParam(type, sp.Code, kind, expression, SearchParamRegistry.Compiler.Compile(expression),
            sp.Target.Select(t => t?.ToString()).OfType<string>().ToList(), [], sp.Url ?? "")
        {
            Fast = FastPath.TryCompile(type, expression),
        };
    }
}
