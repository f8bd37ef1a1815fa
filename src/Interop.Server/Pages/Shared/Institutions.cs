using Hl7.Fhir.Model;
using Interop.Server.Web;

namespace Interop.Server.Pages;

/// <summary>
/// Which institution a reference stands for, and its name, read through the API (the directory is shared data): an
/// Organization is itself; a Practitioner or PractitionerRole is the organisation of their role. Cached for one page.
/// </summary>
public sealed class Institutions(PageApi api)
{
    private readonly Dictionary<string, string?> _of = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

    /// <summary>"Organization/x" for the reference, or null when it names no institution (or cannot be read).</summary>
    public async Task<string?> Of(ResourceReference? reference, CancellationToken ct)
    {
        var key = reference?.Reference;
        if (key is null) return null;
        if (key.StartsWith("Organization/", StringComparison.Ordinal)) return key;
        if (_of.TryGetValue(key, out var known)) return known;
        string? found = null;
        try
        {
            if (key.StartsWith("PractitionerRole/", StringComparison.Ordinal))
                found = (await api.Read<PractitionerRole>(key, ct)).Organization?.Reference;
            else if (key.StartsWith("Practitioner/", StringComparison.Ordinal))
                found = (await api.SearchAll<PractitionerRole>($"PractitionerRole?practitioner={Uri.EscapeDataString(key)}&_count=5", 5, ct))
                    .Select(r => r.Organization?.Reference).FirstOrDefault(o => o is not null);
        }
        catch (PageApiException)
        {
            found = null; // the directory entry cannot be read: shown as unknown
        }
        return _of[key] = found;
    }

    /// <summary>The first reference that names an institution.</summary>
    public async Task<string?> First(IEnumerable<ResourceReference?> references, CancellationToken ct)
    {
        foreach (var reference in references)
            if (await Of(reference, ct) is { } found) return found;
        return null;
    }

    /// <summary>The organisation's name, or its id when it cannot be read.</summary>
    public async Task<string> Name(string organization, CancellationToken ct)
    {
        if (_names.TryGetValue(organization, out var known)) return known;
        string name;
        try { name = (await api.Read<Organization>(organization, ct)).Name ?? organization; }
        catch (PageApiException) { name = organization["Organization/".Length..]; }
        return _names[organization] = name;
    }

    /// <summary>"Organization/x" for an institution claim given either way.</summary>
    public static string Key(string institution) => institution.Contains('/') ? institution : "Organization/" + institution;
}
