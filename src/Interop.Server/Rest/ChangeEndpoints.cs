using System.Globalization;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>
/// GET /fhir/$changes?after=N&amp;_count=M: the change feed as a history-style Bundle, oldest first. Keep the
/// position from the "next" link (its after=) and ask again; an empty page means nothing new yet.
/// </summary>
public static class ChangeEndpoints
{
    public static async Task<IResult> Read(HttpContext ctx, IOptions<FhirOptions> options)
    {
        FhirHttp.Output(ctx);
        var q = ctx.Request.Query;
        var after = Number(q, "after", 0);
        var count = (int)Math.Min(Number(q, "_count", options.Value.DefaultPageSize), options.Value.MaxPageSize);
        var page = (await ctx.Send<ChangesOutcome>(new ChangesRequest(after, count))).Page;
        var baseUrl = FhirHttp.BaseUrl(ctx);
        string Link(long from) => $"{baseUrl}/$changes?after={from}&_count={count}";
        var links = new List<(string, string)> { ("self", Link(after)), ("next", Link(page.Last)) };
        var entries = page.Changes.Select(c => new BundleEntryModel(
            $"{baseUrl}/{c.Version.Key}", c.Version,
            RequestMethod: c.Version.Method,
            RequestUrl: c.Version.Method == "POST" ? c.Version.ResourceType : c.Version.Key,
            ResponseStatus: HttpStatus.Line(c.Version.Method switch { "POST" => 201, "DELETE" => 204, _ => c.Version.VersionId == 1 ? 201 : 200 })))
            .ToList();
        return new BundleResult(new BundleModel(Bundle.BundleType.History, null, links, entries));
    }

    private static long Number(IQueryCollection q, string name, long fallback)
    {
        if (!q.TryGetValue(name, out var raw)) return fallback;
        return long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value : throw FhirException.BadRequest($"{name} must be a whole number ≥ 0, not '{raw}'.", name);
    }
}
