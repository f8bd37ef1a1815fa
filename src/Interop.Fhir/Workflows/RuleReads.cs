using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Workflows;

/// <summary>
/// What rules read, inside the write's transaction: a resource as the transaction leaves it (its own pending
/// writes first, then the database), and searches over the current versions.
/// </summary>
public sealed class RuleReads(ResourceStore store, ConditionalMatcher matcher)
{
    /// <summary>"Type/id" of a literal reference (relative, or absolute on this server), or null.</summary>
    public static string? Key(ResourceReference? reference, string baseUrl)
    {
        var value = reference?.Reference;
        if (string.IsNullOrEmpty(value) || value.StartsWith('#')) return null;
        if (baseUrl.Length > 0 && value.StartsWith(baseUrl.TrimEnd('/') + "/", StringComparison.Ordinal)) value = value[(baseUrl.TrimEnd('/').Length + 1)..];
        var parts = value.Split('/');
        return parts.Length is 2 or 4 && !value.Contains(':') ? $"{parts[0]}/{parts[1]}" : null;
    }

    /// <summary>The live resource at <paramref name="key"/> as this transaction leaves it, or null.</summary>
    public async Task<Resource?> Read(RuleWrite write, string? key, CancellationToken ct)
    {
        if (key is null) return null;
        if (write.Pending.TryGetValue(key, out var pending)) return pending;
        var slash = key.IndexOf('/');
        var current = await store.ReadCurrent(key[..slash], key[(slash + 1)..], ct, write.Unit);
        return current is { Deleted: false, Json: { } json } ? FhirSerialization.ParseStored(json) : null;
    }

    /// <summary>
    /// The current resources a search matches, as this transaction leaves them: pending changes replace what the
    /// database holds (a match the transaction deletes or changes is re-checked by <paramref name="keep"/>), and
    /// pending resources of the type are added when <paramref name="keep"/> accepts them.
    /// </summary>
    public async Task<List<Resource>> Search(RuleWrite write, string type, string query, Func<Resource, bool> keep, CancellationToken ct, int limit = 100)
    {
        var found = new Dictionary<string, Resource>(StringComparer.Ordinal);
        foreach (var match in await matcher.Match(type, query, write.BaseUrl, write.Unit, ct, limit))
            if (!write.Pending.ContainsKey(match.Key) && match.Json is { } json) found[match.Key] = FhirSerialization.ParseStored(json);
        foreach (var (key, resource) in write.Pending)
            if (resource is not null && resource.TypeName == type) found[key] = resource;
        return found.Values.Where(keep).ToList();
    }
}
