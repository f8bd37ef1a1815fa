using System.Text;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Storage;

namespace Interop.Server.Rest;

/// <summary>
/// Results that write FHIR in the negotiated format. Stored JSON is streamed as it is whenever the request
/// allows (JSON, not pretty, no _summary/_elements); otherwise it is parsed and written through the SDK.
/// </summary>
public static class FhirResults
{
    public static IResult Version(StoredVersion version, int status = 200, string? location = null, bool honourPrefer = false) =>
        new VersionResult(version, status, location, honourPrefer);

    public static IResult Resource(Base resource, int status = 200) => new PocoResult(resource, status);

    public static IResult Outcome(OperationOutcome outcome, int status) => new PocoResult(outcome, status);

    public static void SetVersionHeaders(HttpResponse response, StoredVersion version)
    {
        response.Headers.ETag = version.ETag;
        response.Headers.LastModified = version.LastUpdated.ToString("R");
    }

    public static async Task WriteStored(HttpContext ctx, string json, int status)
    {
        var negotiated = FhirHttp.Output(ctx);
        if (negotiated.Options.IsVerbatimJson)
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = negotiated.ContentType + "; charset=utf-8";
            var bytes = Encoding.UTF8.GetBytes(json);
            ctx.Response.ContentLength = bytes.Length;
            await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
            return;
        }
        await WritePoco(ctx, FhirSerialization.ParseStored(json), status, negotiated);
    }

    public static async Task WritePoco(HttpContext ctx, Base resource, int status, Negotiated negotiated)
    {
        // The SDK tags _summary/_elements output SUBSETTED itself (when meta is written).
        var options = negotiated.Options;
        using var buffer = new MemoryStream();
        FhirSerialization.Write(resource, options, buffer);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = negotiated.ContentType + "; charset=utf-8";
        ctx.Response.ContentLength = buffer.Length;
        buffer.Position = 0;
        await buffer.CopyToAsync(ctx.Response.Body, ctx.RequestAborted);
    }

    private sealed class VersionResult(StoredVersion version, int status, string? location, bool honourPrefer) : IResult
    {
        public async Task ExecuteAsync(HttpContext ctx)
        {
            SetVersionHeaders(ctx.Response, version);
            if (location is not null) ctx.Response.Headers.Location = location;
            var prefer = honourPrefer ? FhirHttp.PreferReturn(ctx.Request) : FhirHttp.ReturnPreference.Representation;
            switch (prefer)
            {
                case FhirHttp.ReturnPreference.Minimal:
                    ctx.Response.StatusCode = status;
                    return;
                case FhirHttp.ReturnPreference.OperationOutcome:
                    var message = $"{version.Key} version {version.VersionId} {(status == 201 ? "created" : "updated")}.";
                    var outcome = Interop.Fhir.Errors.Outcomes.Information(message);
                    // Validation's warnings and information about what was stored.
                    outcome.Issue.AddRange(FhirHttp.Context(ctx).Notes);
                    await WritePoco(ctx, outcome, status, FhirHttp.Output(ctx));
                    return;
                default:
                    await WriteStored(ctx, version.Json!, status);
                    return;
            }
        }
    }

    private sealed class PocoResult(Base resource, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext ctx) => WritePoco(ctx, resource, status, FhirHttp.Output(ctx));
    }
}
