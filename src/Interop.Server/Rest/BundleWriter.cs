using System.Text.Encodings.Web;
using System.Text.Json;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Storage;

namespace Interop.Server.Rest;

public sealed record BundleEntryModel(
    string FullUrl, StoredVersion Version, string? RequestMethod = null, string? RequestUrl = null,
    string? ResponseStatus = null, string? SearchMode = null);

public sealed record BundleModel(
    Bundle.BundleType Type, int? Total, IReadOnlyList<(string Relation, string Url)> Links, IReadOnlyList<BundleEntryModel> Entries);

/// <summary>
/// Writes history and search bundles. In the common case (compact JSON) the bundle is written by hand and
/// each entry's stored resource JSON is copied in verbatim; otherwise a Bundle POCO is built and serialised.
/// </summary>
public sealed class BundleResult(BundleModel model) : IResult
{
    private BundleModel model = model;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public async Task ExecuteAsync(HttpContext ctx)
    {
        var negotiated = FhirHttp.Output(ctx);
        if (negotiated.Options.IsSubset)
        {
            // _summary/_elements apply to each matched resource, not to the Bundle around them.
            var options = negotiated.Options;
            model = model with
            {
                Entries = model.Entries.Select(e => e.Version.Json is { } json && e.SearchMode != "include" && e.Version.ResourceType != "OperationOutcome"
                    ? e with { Version = e.Version with { Json = FhirSerialization.Subset(json, options) } } : e).ToList(),
            };
            negotiated = negotiated with { Options = options.WithoutSubset() };
        }
        if (!negotiated.Options.IsVerbatimJson)
        {
            await FhirResults.WritePoco(ctx, ToPoco(), 200, negotiated);
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = negotiated.ContentType + "; charset=utf-8";
        await using var writer = new Utf8JsonWriter(ctx.Response.BodyWriter, WriterOptions);
        WriteJson(writer);
        await writer.FlushAsync(ctx.RequestAborted);
    }

    private void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("resourceType", "Bundle");
        w.WriteString("id", Guid.NewGuid().ToString());
        w.WriteStartObject("meta");
        w.WriteString("lastUpdated", DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffK"));
        w.WriteEndObject();
        w.WriteString("type", Hl7.Fhir.Utility.EnumUtility.GetLiteral(model.Type));
        if (model.Total is { } total) w.WriteNumber("total", total);
        w.WriteStartArray("link");
        foreach (var (relation, url) in model.Links)
        {
            w.WriteStartObject();
            w.WriteString("relation", relation);
            w.WriteString("url", url);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (model.Entries.Count > 0)
        {
            w.WriteStartArray("entry");
            foreach (var e in model.Entries)
            {
                w.WriteStartObject();
                w.WriteString("fullUrl", e.FullUrl);
                if (e.Version.Json is { } json)
                {
                    w.WritePropertyName("resource");
                    w.WriteRawValue(json, skipInputValidation: true);
                }
                if (e.SearchMode is { } mode)
                {
                    w.WriteStartObject("search");
                    w.WriteString("mode", mode);
                    w.WriteEndObject();
                }
                if (e.RequestMethod is { } method)
                {
                    w.WriteStartObject("request");
                    w.WriteString("method", method);
                    w.WriteString("url", e.RequestUrl);
                    w.WriteEndObject();
                }
                if (e.ResponseStatus is { } status)
                {
                    w.WriteStartObject("response");
                    w.WriteString("status", status);
                    w.WriteString("etag", e.Version.ETag);
                    w.WriteString("lastModified", e.Version.LastUpdated.ToString("yyyy-MM-ddTHH:mm:ss.fffK"));
                    w.WriteEndObject();
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private Bundle ToPoco()
    {
        var bundle = new Bundle { Id = Guid.NewGuid().ToString(), Type = model.Type, Total = model.Total, Meta = new Meta { LastUpdated = DateTimeOffset.UtcNow } };
        foreach (var (relation, url) in model.Links) bundle.Link.Add(new Bundle.LinkComponent { Relation = relation, Url = url });
        foreach (var e in model.Entries)
        {
            var entry = new Bundle.EntryComponent { FullUrl = e.FullUrl };
            if (e.Version.Json is { } json) entry.Resource = FhirSerialization.ParseStored(json);
            if (e.SearchMode is { } mode) entry.Search = new Bundle.SearchComponent { Mode = Hl7.Fhir.Utility.EnumUtility.ParseLiteral<Bundle.SearchEntryMode>(mode) };
            if (e.RequestMethod is { } method)
                entry.Request = new Bundle.RequestComponent { Method = Hl7.Fhir.Utility.EnumUtility.ParseLiteral<Bundle.HTTPVerb>(method), Url = e.RequestUrl };
            if (e.ResponseStatus is { } status)
                entry.Response = new Bundle.ResponseComponent { Status = status, Etag = e.Version.ETag, LastModified = e.Version.LastUpdated };
            bundle.Entry.Add(entry);
        }
        return bundle;
    }
}
