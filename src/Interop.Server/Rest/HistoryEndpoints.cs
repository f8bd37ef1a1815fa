using Interop.Fhir.Model;
using System.Globalization;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>
/// history-instance, history-type, history-system. Pages are bounded by a snapshot instant fixed on the
/// first page (carried in the links as _snapshot) and continue after the previous page's last row (_cursor), so
/// pages neither skip nor repeat entries while writes go on, and a late page costs what the first one does.
/// </summary>
public static class HistoryEndpoints
{
    public static Task<IResult> System(HttpContext ctx, IOptions<FhirOptions> options) =>
        Run(ctx, options.Value, null, null);

    public static Task<IResult> Type(string type, HttpContext ctx, IOptions<FhirOptions> options)
    {
        ResourceTypes.Require(type);
        return Run(ctx, options.Value, type, null);
    }

    public static Task<IResult> Instance(string type, string id, HttpContext ctx, IOptions<FhirOptions> options)
    {
        ResourceTypes.Require(type);
        return Run(ctx, options.Value, type, id);
    }

    private static async Task<IResult> Run(HttpContext ctx, FhirOptions options, string? type, string? id)
    {
        FhirHttp.Output(ctx);
        var q = ctx.Request.Query;
        var count = Math.Min(IntParam(q, "_count", options.DefaultPageSize, min: 0), options.MaxPageSize);
        var since = InstantParam(q, "_since");
        var snapshot = InstantParam(q, "_snapshot") ?? DateTimeOffset.UtcNow;
        HistoryCursor? after = null;
        if (q.TryGetValue("_cursor", out var cursor))
            after = HistoryCursor.Decode(cursor.ToString()) ?? throw FhirException.BadRequest("_cursor is not a history cursor issued by this server.", "_cursor");
        var page = (await ctx.Send<HistoryOutcome>(new HistoryRequest(new HistoryQuery(type, id, since, snapshot, after, count)))).Page;

        var baseUrl = FhirHttp.BaseUrl(ctx);
        var path = baseUrl + (type is null ? "" : "/" + type) + (id is null ? "" : "/" + id) + "/_history";
        string Link(HistoryCursor? from) =>
            $"{path}?_count={count}&_snapshot={Uri.EscapeDataString(snapshot.ToString("O"))}" +
            (since is { } s ? $"&_since={Uri.EscapeDataString(s.ToString("O"))}" : "") + (from is null ? "" : $"&_cursor={from.Encode()}");
        var links = new List<(string, string)> { ("self", Link(after)) };
        if (after is not null) links.Add(("first", Link(null)));
        if (page.Next is not null) links.Add(("next", Link(page.Next)));
        if (page.Previous is not null) links.Add(("previous", Link(page.Previous)));

        var entries = page.Entries.Select(v => new BundleEntryModel(
            $"{baseUrl}/{v.ResourceType}/{v.Id}", v,
            RequestMethod: v.Method,
            RequestUrl: v.Method == "POST" ? v.ResourceType : $"{v.ResourceType}/{v.Id}",
            ResponseStatus: HttpStatus.Line(v.Method switch { "POST" => 201, "DELETE" => 204, _ => v.VersionId == 1 ? 201 : 200 })))
            .ToList();
        int? total = id is not null && after is null && page.Next is null ? entries.Count : null;
        return new BundleResult(new BundleModel(Bundle.BundleType.History, total, links, entries));
    }

    private static int IntParam(IQueryCollection q, string name, int fallback, int min)
    {
        if (!q.TryGetValue(name, out var raw)) return fallback;
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min)
            throw FhirException.BadRequest($"{name} must be a whole number ≥ {min}, not '{raw}'.", name);
        return value;
    }

    private static DateTimeOffset? InstantParam(IQueryCollection q, string name)
    {
        if (!q.TryGetValue(name, out var raw)) return null;
        if (!DateTimeOffset.TryParse(raw, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
            throw FhirException.BadRequest($"{name} must be an instant such as 2026-01-31T12:00:00Z, not '{raw}'.", name);
        return value;
    }
}
