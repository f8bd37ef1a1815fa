using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Model;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Transactions;

/// <summary>One interaction: a Bundle entry's request, or a single REST call routed through the same code.</summary>
public sealed record EntryRequest(
    int Index, string? FullUrl, Bundle.HTTPVerb Method, string Url, Resource? Resource,
    int? IfMatch = null, string? IfNoneExist = null, bool Standalone = false)
{
    /// <summary>
    /// Set by the authorise stage for a caller acting for an institution: the entry's conditional matches run under
    /// the access policy, and what they lead it to change or create is checked against the write rules.
    /// </summary>
    public IMatchPolicy? Policy { get; set; }

    /// <summary>A single REST call (not a bundle entry): its errors are reported as they are, not as "Bundle entry 0".</summary>
    public static EntryRequest Rest(Bundle.HTTPVerb method, string url, Resource? resource, int? ifMatch = null, string? ifNoneExist = null, IMatchPolicy? policy = null) =>
        new(0, null, method, url, resource, ifMatch, ifNoneExist, Standalone: true) { Policy = policy };

    /// <summary>Type, id and query of the URL: "Patient", "Patient/1", "Patient?identifier=x", "Patient/1/_history/2".</summary>
    public (string Type, string? Id, string? Query, int? Version) Target
    {
        get
        {
            var url = Url;
            string? query = null;
            var q = url.IndexOf('?');
            if (q >= 0) { query = url[(q + 1)..]; url = url[..q]; }
            var parts = url.Trim('/').Split('/');
            if (parts[0] == "" && query is not null) return ("", null, query, null);
            if (!ResourceTypes.All.Contains(parts[0])) throw FhirException.BadRequest($"'{parts[0]}' in request.url '{Url}' is not a resource type.");
            return parts.Length switch
            {
                1 => (parts[0], null, query, null),
                2 => (parts[0], parts[1], query, null),
                4 when parts[2] == "_history" && int.TryParse(parts[3], out var v) => (parts[0], parts[1], query, v),
                _ => throw FhirException.BadRequest($"request.url '{Url}' is not of the form Type, Type/id or Type?query."),
            };
        }
    }

    /// <summary><see cref="Target"/>, or null when the URL is not one (the entry's processing reports that).</summary>
    public (string Type, string? Id, string? Query, int? Version)? TargetOrNull
    {
        get
        {
            try { return Target; }
            catch (FhirException) { return null; }
        }
    }

    public string Label => $"entry {Index}" + (FullUrl is null ? "" : $" ({FullUrl})");

    /// <summary>Reads the entries of a transaction or batch Bundle; <paramref name="baseUrl"/> prefixes are stripped from URLs.</summary>
    public static List<EntryRequest> FromBundle(Bundle bundle, string baseUrl)
    {
        var entries = new List<EntryRequest>();
        for (var i = 0; i < bundle.Entry.Count; i++)
        {
            var e = bundle.Entry[i];
            var where = $"Bundle.entry[{i}]";
            if (e.Request?.Method is not { } method || string.IsNullOrEmpty(e.Request.Url))
                throw FhirException.BadRequest($"Entry {i} has no request.method and request.url.", where + ".request");
            var url = e.Request.Url.StartsWith(baseUrl + "/", StringComparison.Ordinal) ? e.Request.Url[(baseUrl.Length + 1)..] : e.Request.Url;
            int? ifMatch = null;
            if (!string.IsNullOrEmpty(e.Request.IfMatch))
            {
                var digits = new string(e.Request.IfMatch.Where(char.IsDigit).ToArray());
                if (!int.TryParse(digits, out var v)) throw FhirException.BadRequest($"Entry {i}: ifMatch '{e.Request.IfMatch}' is not a version ETag.", where + ".request.ifMatch");
                ifMatch = v;
            }
            if (method is Bundle.HTTPVerb.POST or Bundle.HTTPVerb.PUT or Bundle.HTTPVerb.PATCH && e.Resource is null)
                throw FhirException.BadRequest($"Entry {i}: a {method} needs a resource.", where + ".resource");
            entries.Add(new EntryRequest(i, e.FullUrl, method, url, e.Resource, ifMatch, e.Request.IfNoneExist));
        }
        var duplicate = entries.Where(x => x.FullUrl is not null).GroupBy(x => x.FullUrl).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw FhirException.BadRequest($"fullUrl '{duplicate.Key}' appears in more than one entry.");
        return entries;
    }
}

/// <summary>What one entry did — the version it wrote or read, or the resource it answers with — or why it failed.</summary>
public sealed record EntryOutcome(int Index, ResultKind Kind, StoredVersion? Version = null, Resource? Resource = null, FhirException? Error = null);
