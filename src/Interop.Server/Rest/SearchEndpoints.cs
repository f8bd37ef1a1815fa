using Interop.Fhir.Indexing;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Model;
using Interop.Fhir.Patients;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>
/// search-type (GET and POST _search), search-system (_type), and patient-compartment search.
/// </summary>
public static class SearchEndpoints
{
    public static async Task<IResult> Type(string type, HttpContext ctx, IOptions<FhirOptions> options)
    {
        ResourceTypes.Require(type);
        if (type == "AuditEvent") return await AuditEndpoints.Search(ctx, await Parameters(ctx));
        return await Run(ctx, options.Value, [type], await Parameters(ctx), null);
    }

    public static async Task<IResult> System(HttpContext ctx, IOptions<FhirOptions> options)
    {
        var parameters = await Parameters(ctx);
        var types = parameters.Where(kv => kv.Key == "_type").SelectMany(kv => kv.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).Distinct().ToList();
        foreach (var t in types)
            if (!ResourceTypes.All.Contains(t)) throw FhirException.BadRequest($"_type: '{t}' is not a resource type.", "_type");
        if (types.Count == 0) types = ResourceTypes.All.Order(StringComparer.Ordinal).ToList();
        return await Run(ctx, options.Value, types, parameters, null);
    }

    public static async Task<IResult> Compartment(string compartment, string id, string type, HttpContext ctx, IOptions<FhirOptions> options)
    {
        if (compartment != "Patient") throw FhirException.NotFound($"Compartment '{compartment}' is not supported; the Patient compartment is.");
        ResourceTypes.Require(type);
        if (type == "AuditEvent") return await AuditEndpoints.Search(ctx, [new("patient", $"Patient/{id}"), .. await Parameters(ctx)]);
        Criterion criterion = type == "Patient"
            ? new ParamCriterion(SearchParamRegistry.Find("Patient", "_id")!, null, [new IdValue(id)])
            : new CompartmentCriterion(PatientCompartment.Params(type), $"Patient/{id}");
        if (criterion is CompartmentCriterion { Params.Count: 0 })
            throw FhirException.NotFound($"{type} is not in the Patient compartment (CompartmentDefinition/patient).");
        return await Run(ctx, options.Value, [type], await Parameters(ctx), criterion);
    }

    private static async Task<List<KeyValuePair<string, string>>> Parameters(HttpContext ctx)
    {
        var list = new List<KeyValuePair<string, string>>();
        foreach (var (key, values) in ctx.Request.Query)
            foreach (var v in values) list.Add(new(key, v ?? ""));
        if (HttpMethods.IsPost(ctx.Request.Method))
        {
            if (!ctx.Request.HasFormContentType)
                throw FhirException.NotSupported(ErrorKind.UnsupportedMediaType, "POST _search takes an application/x-www-form-urlencoded body.");
            // The form is bounded like any body: past Fhir:MaxBodyBytes Kestrel stops reading (413).
            if (ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
                size.MaxRequestBodySize = ctx.RequestServices.GetRequiredService<IOptions<FhirOptions>>().Value.MaxBodyBytes;
            IFormCollection form;
            try
            {
                form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            }
            catch (InvalidDataException e)
            {
                // ASP.NET Core's form limits (key length 2,048, value count 1,024, ...).
                throw FhirException.Of(ErrorKind.Invalid, OperationOutcome.IssueType.TooCostly, $"The _search form body exceeds a limit: {e.Message}", "_search");
            }
            foreach (var (key, values) in form)
                foreach (var v in values) list.Add(new(key, v ?? ""));
        }
        return list;
    }

    private static async Task<IResult> Run(HttpContext ctx, FhirOptions options, IReadOnlyList<string> types,
        List<KeyValuePair<string, string>> parameters, Criterion? compartment)
    {
        var negotiated = FhirHttp.Output(ctx);
        var strict = ctx.Request.Headers["Prefer"].ToString().Contains("handling=strict", StringComparison.OrdinalIgnoreCase);
        var known = ctx.RequestServices.GetRequiredService<SearchParamCatalog>().Current; // with the parameters stored at run time
        var query = SearchQueryParser.Parse(types, parameters, strict, options.DefaultPageSize, options.MaxPageSize, known);
        if (compartment is not null) query.Criteria.Insert(0, compartment);
        var baseUrl = FhirHttp.BaseUrl(ctx);
        var result = (await ctx.Send<SearchOutcome>(new SearchRequest(query, negotiated.Options.Summary == SummaryMode.Count))).Result;

        var path = ctx.Request.Path.Value!.EndsWith("/_search", StringComparison.Ordinal)
            ? ctx.Request.Path.Value[..^"/_search".Length] : ctx.Request.Path.Value;
        var echo = query.Echo.ToList();
        if (types.Count > 1 && parameters.Any(kv => kv.Key == "_type")) echo.Insert(0, new("_type", string.Join(",", types)));
        foreach (var name in new[] { "_summary", "_elements", "_format" })
            if (ctx.Request.Query.TryGetValue(name, out var v)) echo.Add(new(name, v.ToString()));
        string Link(Cursor? cursor)
        {
            var items = echo.Select(kv => $"{Uri.EscapeDataString(kv.Key)}={Uri.EscapeDataString(kv.Value)}").ToList();
            if (cursor is not null) items.Add("_cursor=" + SearchQueryParser.EncodeCursor(cursor));
            return $"{baseUrl}{path["/fhir".Length..]}" + (items.Count > 0 ? "?" + string.Join("&", items) : "");
        }
        var links = new List<(string, string)> { ("self", Link(query.Cursor)) };
        if (query.Cursor is not null) links.Add(("first", Link(null)));
        if (result.Next is not null) links.Add(("next", Link(result.Next)));
        if (result.Previous is not null) links.Add(("previous", Link(result.Previous)));

        var entries = result.Hits.Select(h => new BundleEntryModel($"{baseUrl}/{h.Version.ResourceType}/{h.Version.Id}", h.Version,
            SearchMode: h.Included ? "include" : "match")).ToList();
        if (result.Warnings.Count > 0) entries.Add(OutcomeEntry(result.Warnings));
        return new BundleResult(new BundleModel(Bundle.BundleType.Searchset, result.Total, links, entries));
    }

    private static BundleEntryModel OutcomeEntry(IEnumerable<string> warnings)
    {
        var outcome = new OperationOutcome();
        foreach (var w in warnings) outcome.Issue.Add(Outcomes.Issue(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.NotSupported, w, null));
        var id = Guid.NewGuid().ToString();
        outcome.Id = id;
        var version = new StoredVersion("OperationOutcome", id, 1, DateTimeOffset.UtcNow, false, "GET", FhirSerialization.ToJson(outcome));
        return new BundleEntryModel($"urn:uuid:{id}", version, SearchMode: "outcome");
    }
}
