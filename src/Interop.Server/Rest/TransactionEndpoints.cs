using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Transactions;
using Microsoft.Extensions.Options;

namespace Interop.Server.Rest;

/// <summary>POST /fhir with a transaction or batch Bundle (http://hl7.org/fhir/R4/http.html#transaction).</summary>
public static class TransactionEndpoints
{
    public static async Task<IResult> Process(HttpContext ctx, IOptions<FhirOptions> options)
    {
        FhirHttp.Output(ctx);
        var resource = await FhirHttp.ReadResource(ctx);
        if (resource is not Bundle { Type: Bundle.BundleType.Transaction or Bundle.BundleType.Batch } bundle)
            throw FhirException.BadRequest("POST to the base URL takes a Bundle of type transaction or batch.", "Bundle.type");
        if (bundle.Entry.Count > options.Value.MaxBundleEntries)
            throw FhirException.Of(ErrorKind.TooLarge, OperationOutcome.IssueType.TooCostly,
                $"The bundle has {bundle.Entry.Count} entries; the limit is {options.Value.MaxBundleEntries} (setting Fhir:MaxBundleEntries).");
        var baseUrl = FhirHttp.BaseUrl(ctx);
        var entries = EntryRequest.FromBundle(bundle, baseUrl);
        var transaction = bundle.Type == Bundle.BundleType.Transaction;
        var outcomes = (await ctx.Send<BundleOutcome>(new BundleRequest(entries, transaction))).Entries;
        // Entries carry their resources only when asked (Prefer: return=representation); GET entries always do.
        var representation = ctx.Request.Headers["Prefer"].ToString().Contains("return=representation", StringComparison.OrdinalIgnoreCase);
        return FhirResults.Resource(Response(outcomes, transaction, baseUrl, representation));
    }

    private static Bundle Response(IReadOnlyList<EntryOutcome> outcomes, bool transaction, string baseUrl, bool representation)
    {
        var response = new Bundle
        {
            Id = Guid.NewGuid().ToString(),
            Type = transaction ? Bundle.BundleType.TransactionResponse : Bundle.BundleType.BatchResponse,
            Meta = new Meta { LastUpdated = DateTimeOffset.UtcNow },
        };
        foreach (var o in outcomes.OrderBy(o => o.Index))
        {
            var status = o.Error is { } error ? HttpStatus.Of(error.Kind) : HttpStatus.Of(o.Kind);
            var entry = new Bundle.EntryComponent { Response = new Bundle.ResponseComponent { Status = HttpStatus.Line(status), Outcome = o.Error?.Outcome } };
            if (o.Version is { } v)
            {
                entry.FullUrl = $"{baseUrl}/{v.Key}";
                entry.Response.Location = $"{baseUrl}/{v.Key}/_history/{v.VersionId}";
                entry.Response.Etag = v.ETag;
                entry.Response.LastModified = v.LastUpdated;
                if (representation && o.Resource is null && v.Json is { } json)
                    entry.Resource = FhirSerialization.ParseStored(json);
            }
            if (o.Resource is not null) entry.Resource = o.Resource;
            response.Entry.Add(entry);
        }
        return response;
    }
}
