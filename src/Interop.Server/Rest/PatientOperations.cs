using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>One resident across institutions: $match, $merge (by linking) and $everything.</summary>
public static class PatientOperations
{
    private const string MatchGradeUrl = "http://hl7.org/fhir/StructureDefinition/match-grade";

    public static async Task<IResult> Match(HttpContext ctx)
    {
        FhirHttp.Output(ctx);
        if (await FhirHttp.ReadResource(ctx) is not Parameters parameters)
            throw FhirException.BadRequest("$match takes a Parameters resource with a 'resource' parameter holding a Patient.", "resourceType");
        if (parameters.Parameter.FirstOrDefault(p => p.Name == "resource")?.Resource is not Patient patient)
            throw FhirException.BadRequest("$match needs a 'resource' parameter holding a Patient.", "Parameters.parameter");
        var count = parameters.Parameter.FirstOrDefault(p => p.Name == "count")?.Value is Integer { Value: > 0 } c ? c.Value.Value : 10;
        var onlyCertain = parameters.Parameter.FirstOrDefault(p => p.Name == "onlyCertainMatches")?.Value is FhirBoolean { Value: true };
        var matches = (await ctx.Send<MatchOutcome>(new MatchRequest(patient, count, onlyCertain))).Matches;
        var baseUrl = FhirHttp.BaseUrl(ctx);
        var bundle = new Bundle { Id = Guid.NewGuid().ToString(), Type = Bundle.BundleType.Searchset, Total = matches.Count, Meta = new Meta { LastUpdated = DateTimeOffset.UtcNow } };
        foreach (var m in matches)
        {
            var search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match, Score = m.Score };
            search.Extension.Add(new Extension(MatchGradeUrl, new Code(m.Grade)));
            bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"{baseUrl}/{m.Version.Key}", Resource = m.Patient, Search = search });
        }
        return FhirResults.Resource(bundle);
    }

    public static async Task<IResult> Merge(HttpContext ctx)
    {
        FhirHttp.Output(ctx);
        if (await FhirHttp.ReadResource(ctx) is not Parameters parameters)
            throw FhirException.BadRequest("$merge takes a Parameters resource with source-patient and target-patient references.", "resourceType");
        string Id(string name) =>
            (parameters.Parameter.FirstOrDefault(p => p.Name == name)?.Value as ResourceReference)?.Reference is { } r && r.StartsWith("Patient/", StringComparison.Ordinal)
                ? r["Patient/".Length..]
                : throw FhirException.BadRequest($"$merge needs '{name}' as a reference Patient/{{id}}.", name);
        var (source, target) = await ctx.Send<MergeOutcome>(new MergeRequest(Id("source-patient"), Id("target-patient")));
        var result = new Parameters();
        result.Add("source-patient", FhirSerialization.ParseStored(source.Json!));
        result.Add("target-patient", FhirSerialization.ParseStored(target.Json!));
        result.Add("outcome", Outcomes.Information($"{source.Key} is now replaced-by {target.Key}; both keep their history and all references stay as written."));
        return FhirResults.Resource(result);
    }

    public static async Task<IResult> Everything(string id, HttpContext ctx, IOptions<FhirOptions> options)
    {
        FhirHttp.Output(ctx);
        var q = await OperationParameters(ctx);
        var count = q.TryGetValue("_count", out var c) ? int.TryParse(c, out var n) && n > 0 ? Math.Min(n, options.Value.MaxPageSize)
            : throw FhirException.BadRequest($"_count must be a whole number > 0, not '{c}'.", "_count") : options.Value.DefaultPageSize;
        DateTimeOffset? since = null;
        if (q.TryGetValue("_since", out var s))
            since = DateTimeOffset.TryParse(s, out var parsed) ? parsed : throw FhirException.BadRequest($"_since must be an instant, not '{s}'.", "_since");
        List<string>? types = null;
        if (q.TryGetValue("_type", out var t))
        {
            types = t.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            foreach (var type in types)
                if (!Interop.Fhir.Model.ResourceTypes.All.Contains(type)) throw FhirException.BadRequest($"_type: '{type}' is not a resource type.", "_type");
        }
        var after = q.GetValueOrDefault("_after");
        if (after is not null) InputGuard.CheckText(after, "_after");
        var page = (await ctx.Send<EverythingOutcome>(new EverythingRequest(id, since, types, after, count))).Page;

        var baseUrl = FhirHttp.BaseUrl(ctx);
        string Link(string? from) =>
            $"{baseUrl}/Patient/{id}/$everything?_count={count}" + (since is { } x ? $"&_since={Uri.EscapeDataString(x.ToString("O"))}" : "")
            + (types is null ? "" : $"&_type={string.Join(",", types)}") + (from is null ? "" : $"&_after={Uri.EscapeDataString(from)}");
        var links = new List<(string, string)> { ("self", Link(after)) };
        if (page.NextAfter is not null) links.Add(("next", Link(page.NextAfter)));
        var entries = page.Resources.Select(v => new BundleEntryModel($"{baseUrl}/{v.Key}", v, SearchMode: "match")).ToList();
        return new BundleResult(new BundleModel(Bundle.BundleType.Searchset, page.Total, links, entries));
    }

    /// <summary>
    /// An operation's parameters: from the query string (GET), or from a Parameters body (POST, what FHIR clients such
    /// as Firely's send for every operation; an empty body is no parameters). Values of primitive types only.
    /// </summary>
    private static async Task<Dictionary<string, string>> OperationParameters(HttpContext ctx)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in ctx.Request.Query) result[key] = values.ToString();
        if (!HttpMethods.IsPost(ctx.Request.Method) || ctx.Request.ContentLength == 0) return result;
        if (await FhirHttp.ReadResource(ctx) is not Parameters parameters)
            throw FhirException.BadRequest("An operation invoked with POST takes a Parameters resource.", "resourceType");
        foreach (var p in parameters.Parameter)
        {
            if (p.Value is not PrimitiveType value || string.IsNullOrEmpty(p.Name))
                throw FhirException.BadRequest($"Parameter '{p.Name}' must have a primitive value.", $"Parameters.parameter.where(name='{p.Name}')");
            result[p.Name] = value.ToString()!;
        }
        return result;
    }
}
