using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Search;

namespace Interop.Fhir.Workflows.Care;

/// <summary>
/// Reads of the care operations, each a nested request of the caller's: its scopes, the patient compartment, the
/// institution's access policy and the audit apply to every one.
/// </summary>
public static class Nested
{
    /// <summary>The current <typeparamref name="T"/> at Type/id (404, 403 as a read would answer).</summary>
    public static async Task<T> Read<T>(InteractionCall call, string type, string id, CancellationToken ct) where T : Resource
    {
        var read = (VersionResult)await call.Nested(new ReadRequest(type, id), ct);
        return FhirSerialization.ParseStored(read.Version.Json!) as T
               ?? throw FhirException.BadRequest($"{type}/{id} is not a {typeof(T).Name}.", type);
    }

    /// <summary>The resource a literal reference "Type/id" names, read through the pipeline; 422 naming <paramref name="where"/> when it is not one.</summary>
    public static async Task<Resource> Read(InteractionCall call, ResourceReference reference, string where, CancellationToken ct)
    {
        var parts = reference.Reference?.Split('/') ?? [];
        if (parts.Length != 2 || !ModelInfo.IsKnownResource(parts[0]) || parts[1].Length == 0)
            throw Unprocessable($"'{reference.Reference}' is not a reference of the form Type/id.", where);
        return await Read<Resource>(call, parts[0], parts[1], ct);
    }

    /// <summary>Every resource a search matches, page by page (at most <paramref name="limit"/>), through the pipeline.</summary>
    public static async Task<List<T>> Search<T>(InteractionCall call, string type, IEnumerable<KeyValuePair<string, string>> parameters, CancellationToken ct, int limit = 2000)
        where T : Resource
    {
        var query = SearchQueryParser.Parse([type], parameters, strict: true, 500, 500);
        query.Total = TotalMode.None;
        var found = new List<T>();
        while (true)
        {
            var page = (SearchOutcome)await call.Nested(new SearchRequest(query), ct);
            found.AddRange(page.Result.Hits.Where(h => !h.Included).Select(h => FhirSerialization.ParseStored(h.Version.Json!)).OfType<T>());
            if (page.Result.Next is not { } next || found.Count >= limit) return found;
            query.Cursor = next;
        }
    }

    /// <summary>The matches of a search a page at a time (<paramref name="size"/> per page), through the pipeline.</summary>
    public static async IAsyncEnumerable<List<T>> Pages<T>(InteractionCall call, string type, IEnumerable<KeyValuePair<string, string>> parameters, int size,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct) where T : Resource
    {
        var query = SearchQueryParser.Parse([type], parameters, strict: true, size, size);
        query.Total = TotalMode.None;
        while (true)
        {
            var page = (SearchOutcome)await call.Nested(new SearchRequest(query), ct);
            var found = page.Result.Hits.Where(h => !h.Included).Select(h => FhirSerialization.ParseStored(h.Version.Json!)).OfType<T>().ToList();
            if (found.Count > 0) yield return found;
            if (page.Result.Next is not { } next) yield break;
            query.Cursor = next;
        }
    }

    /// <summary>A 422 business-rule refusal naming where the problem is.</summary>
    public static FhirException Unprocessable(string message, string expression) =>
        FhirException.Of(ErrorKind.Unprocessable, OperationOutcome.IssueType.BusinessRule, message, expression);
}
