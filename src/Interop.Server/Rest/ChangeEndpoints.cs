using System.Globalization;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Pipeline;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>
/// GET /fhir/$changes?after=N&amp;_count=M: the change feed as a history-style Bundle, oldest first. Keep the
/// position from the "next" link and ask again; an empty page means nothing new yet. For an institution the page is
/// filtered by the access policy, and the position it reached counts changes it may not see, so its "next" link
/// carries that position sealed (<c>_cursor</c>, ASP.NET Core data protection) instead of after=N: how many changes
/// the rest of the group made does not show through the numbers.
/// </summary>
public static class ChangeEndpoints
{
    private const string Purpose = "Interop.ChangeFeed.Position.v1";

    public static async Task<IResult> Read(HttpContext ctx, IOptions<FhirOptions> options, IDataProtectionProvider protection)
    {
        FhirHttp.Output(ctx);
        var q = ctx.Request.Query;
        var sealer = protection.CreateProtector(Purpose);
        if (q.ContainsKey("_cursor") && q.ContainsKey("after"))
            throw FhirException.BadRequest("Give the feed's position as after or as _cursor (from a next link), not both.", "_cursor");
        var after = q.TryGetValue("_cursor", out var cursor) ? Unseal(sealer, cursor.ToString()) : Number(q, "after", 0);
        var count = (int)Math.Min(Number(q, "_count", options.Value.DefaultPageSize), options.Value.MaxPageSize);
        var outcome = await ctx.Send<ChangesOutcome>(new ChangesRequest(after, count));
        var page = outcome.Page;
        var baseUrl = FhirHttp.BaseUrl(ctx);
        string Link(string position) => $"{baseUrl}/$changes?{position}&_count={count}";
        var self = cursor.Count > 0 ? $"_cursor={Uri.EscapeDataString(cursor.ToString())}" : $"after={after}";
        var next = outcome.Filtered ? $"_cursor={Uri.EscapeDataString(sealer.Protect(page.Last.ToString(CultureInfo.InvariantCulture)))}" : $"after={page.Last}";
        var links = new List<(string, string)> { ("self", Link(self)), ("next", Link(next)) };
        var entries = page.Changes.Select(c => new BundleEntryModel(
            $"{baseUrl}/{c.Version.Key}", c.Version,
            RequestMethod: c.Version.Method,
            RequestUrl: c.Version.Method == "POST" ? c.Version.ResourceType : c.Version.Key,
            ResponseStatus: HttpStatus.Line(c.Version.Method switch { "POST" => 201, "DELETE" => 204, _ => c.Version.VersionId == 1 ? 201 : 200 })))
            .ToList();
        return new BundleResult(new BundleModel(Bundle.BundleType.History, null, links, entries));
    }

    // A position this server sealed (any caller's: it is only a place to read from; what is read is filtered anyway).
    private static long Unseal(IDataProtector sealer, string cursor)
    {
        try
        {
            if (long.TryParse(sealer.Unprotect(cursor), NumberStyles.None, CultureInfo.InvariantCulture, out var position)) return position;
        }
        catch (System.Security.Cryptography.CryptographicException) { }
        catch (FormatException) { }
        throw FhirException.BadRequest("_cursor is not a position of the change feed that this server gave out; start again from after=0.", "_cursor");
    }

    private static long Number(IQueryCollection q, string name, long fallback)
    {
        if (!q.TryGetValue(name, out var raw)) return fallback;
        return long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value : throw FhirException.BadRequest($"{name} must be a whole number ≥ 0, not '{raw}'.", name);
    }
}
