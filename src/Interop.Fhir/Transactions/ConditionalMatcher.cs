using Interop.Fhir.Errors;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Transactions;

/// <summary>Finds the resources a conditional operation or conditional reference ("Type?query") names.</summary>
public sealed class ConditionalMatcher(SearchService search, SearchParamCatalog searchParams)
{
    /// <summary>Up to <paramref name="limit"/> + 1 current matches (enough to tell 0, 1 and many apart).</summary>
    /// <param name="policy">For a caller acting for an institution: only what the access policy lets it see can match (in the SQL).</param>
    public async Task<IReadOnlyList<StoredVersion>> Match(string type, string query, string baseUrl, UnitOfWork? unit, CancellationToken ct, int limit = 1,
        InstitutionAccess? policy = null)
    {
        var pairs = Parse(query);
        if (pairs.Count == 0) throw FhirException.BadRequest($"A conditional operation on {type} needs search criteria.");
        var parsed = SearchQueryParser.Parse([type], pairs, strict: true, limit + 1, limit + 1, searchParams.Current);
        parsed.Total = TotalMode.None;
        parsed.Policy = policy;
        var result = await search.Search(parsed, baseUrl, countOnly: false, ct, unit);
        return result.Hits.Where(h => !h.Included).Select(h => h.Version).ToList();
    }

    /// <summary>The lock key for criteria: type and parameters in a canonical order.</summary>
    public static string LockKey(string type, string query) =>
        type + "?" + string.Join("&", Parse(query).Select(kv => kv.Key + "=" + kv.Value).Order(StringComparer.Ordinal));

    public static List<KeyValuePair<string, string>> Parse(string query) =>
        query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(part =>
            {
                var eq = part.IndexOf('=');
                static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));
                return eq < 0 ? new KeyValuePair<string, string>(Decode(part), "") : new(Decode(part[..eq]), Decode(part[(eq + 1)..]));
            }).ToList();
}
