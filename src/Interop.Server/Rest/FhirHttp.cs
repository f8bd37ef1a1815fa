using Interop.Fhir.Audit;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Interop.Server.Rest;

/// <summary>The response format chosen for a request, with the media type to answer in.</summary>
public sealed record Negotiated(OutputOptions Options, string ContentType);

/// <summary>HTTP-level FHIR rules: content negotiation, body reading, ETags, Prefer, base URL, writer identity.</summary>
public static partial class FhirHttp
{
    private const string NegotiatedKey = "fhir.negotiated";
    public const string WriterHeader = "X-Interop-Client";

    /// <summary>Negotiates once per request (406/400 before any work is done) and caches the result.</summary>
    public static Negotiated Output(HttpContext ctx)
    {
        if (ctx.Items.TryGetValue(NegotiatedKey, out var cached) && cached is Negotiated n) return n;
        var negotiated = Negotiate(ctx.Request);
        ctx.Items[NegotiatedKey] = negotiated;
        return negotiated;
    }

    /// <summary>The negotiated format if negotiation succeeded, else compact JSON (used for error bodies).</summary>
    public static Negotiated OutputOrDefault(HttpContext ctx) =>
        ctx.Items.TryGetValue(NegotiatedKey, out var cached) && cached is Negotiated n ? n : new Negotiated(OutputOptions.Json, JsonType);

    public const string JsonType = "application/fhir+json";
    public const string XmlType = "application/fhir+xml";
    /// <summary>Request body media types accepted besides application/fhir+json.</summary>
    public static readonly string[] BodyTypes = [XmlType, "application/json", "text/json", "application/xml", "text/xml"];

    private static Negotiated Negotiate(HttpRequest request)
    {
        var query = request.Query;
        var (format, contentType) = query.TryGetValue("_format", out var f) && !string.IsNullOrWhiteSpace(f)
            ? FromFormatParameter(f.ToString())
            : FromAccept(request.Headers.Accept.ToString());
        var pretty = query.TryGetValue("_pretty", out var p) && p.ToString() switch
        {
            "true" => true,
            "false" => false,
            _ => throw FhirException.BadRequest($"_pretty must be true or false, not '{p}'.", "_pretty"),
        };
        var summary = SummaryMode.False;
        if (query.TryGetValue("_summary", out var s))
            summary = s.ToString() switch
            {
                "true" => SummaryMode.True, "false" => SummaryMode.False, "text" => SummaryMode.Text,
                "data" => SummaryMode.Data, "count" => SummaryMode.Count,
                _ => throw FhirException.BadRequest($"_summary must be one of true, false, text, data, count; not '{s}'.", "_summary"),
            };
        string[]? elements = null;
        if (query.TryGetValue("_elements", out var e))
        {
            elements = e.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (summary != SummaryMode.False) throw FhirException.BadRequest("_summary and _elements cannot be combined.", "_elements");
            // id and meta always come back, so the client sees what it got and that it is SUBSETTED.
            elements = elements.Length == 0 ? null : [.. elements.Union(["id", "meta"])];
        }
        return new Negotiated(new OutputOptions(format, pretty, summary, elements), contentType);
    }

    private static (FhirFormat, string) FromFormatParameter(string value)
    {
        var mediaType = value.Split(';')[0].Trim().ToLowerInvariant();
        return mediaType switch
        {
            "json" or "application/fhir+json" => (FhirFormat.Json, JsonType),
            "application/json" or "text/json" => (FhirFormat.Json, "application/json"),
            "xml" or "application/fhir+xml" => (FhirFormat.Xml, XmlType),
            "application/xml" or "text/xml" => (FhirFormat.Xml, "application/xml"),
            _ => throw FhirException.NotSupported(ErrorKind.NotAcceptable, $"_format '{value}' is not supported; use json or xml."),
        };
    }

    private static (FhirFormat, string) FromAccept(string accept)
    {
        if (string.IsNullOrWhiteSpace(accept)) return (FhirFormat.Json, JsonType);
        if (!MediaTypeHeaderValue.TryParseList([accept], out var list))
            throw FhirException.NotSupported(ErrorKind.NotAcceptable, $"The Accept header '{accept}' could not be read.");
        foreach (var media in list.OrderByDescending(m => m.Quality ?? 1.0))
        {
            if (media.Quality == 0) continue;
            var version = media.Parameters.FirstOrDefault(x => x.Name.Equals("fhirVersion", StringComparison.OrdinalIgnoreCase))?.Value.ToString();
            if (version is not null && !version.Trim('"').StartsWith("4.0", StringComparison.Ordinal)) continue;
            switch (media.MediaType.ToString().ToLowerInvariant())
            {
                case "application/fhir+json": return (FhirFormat.Json, JsonType);
                case "application/json" or "text/json": return (FhirFormat.Json, "application/json");
                case "application/fhir+xml": return (FhirFormat.Xml, XmlType);
                case "application/xml" or "text/xml": return (FhirFormat.Xml, "application/xml");
                case "*/*" or "application/*": return (FhirFormat.Json, JsonType);
            }
        }
        throw FhirException.NotSupported(ErrorKind.NotAcceptable,
            $"None of the media types in Accept '{accept}' can be produced; this server speaks application/fhir+json and application/fhir+xml (FHIR 4.0).");
    }

    /// <summary>Reads and parses the request body as a FHIR resource: 415 for an unknown media type, 413 over the limit.</summary>
    public static async Task<Resource> ReadResource(HttpContext ctx)
    {
        var format = BodyFormat(ctx.Request);
        var bytes = await ReadBody(ctx);
        return FhirSerialization.Parse(bytes.Span, format);
    }

    public static FhirFormat BodyFormat(HttpRequest request)
    {
        var contentType = request.ContentType;
        if (string.IsNullOrWhiteSpace(contentType))
            throw FhirException.NotSupported(ErrorKind.UnsupportedMediaType, "A Content-Type header is required: application/fhir+json or application/fhir+xml.");
        var mediaType = contentType.Split(';')[0].Trim().ToLowerInvariant();
        return mediaType switch
        {
            "application/fhir+json" or "application/json" or "text/json" => FhirFormat.Json,
            "application/fhir+xml" or "application/xml" or "text/xml" => FhirFormat.Xml,
            _ => throw FhirException.NotSupported(ErrorKind.UnsupportedMediaType, $"Content-Type '{contentType}' is not supported; use application/fhir+json or application/fhir+xml."),
        };
    }

    public static async Task<ReadOnlyMemory<byte>> ReadBody(HttpContext ctx)
    {
        var limit = ctx.RequestServices.GetRequiredService<IOptions<FhirOptions>>().Value.MaxBodyBytes;
        if (ctx.Request.ContentLength > limit) throw TooLarge(limit);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await ctx.Request.Body.ReadAsync(chunk, ctx.RequestAborted)) > 0)
        {
            if (buffer.Length + read > limit) throw TooLarge(limit);
            buffer.Write(chunk, 0, read);
        }
        if (buffer.Length == 0) throw FhirException.BadRequest("The request body is empty; a FHIR resource is required.");
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static FhirException TooLarge(long limit) =>
        FhirException.Of(ErrorKind.TooLarge, OperationOutcome.IssueType.TooCostly, $"The request body is larger than the limit of {limit} bytes (setting Fhir:MaxBodyBytes).");

    [GeneratedRegex("""^(W/)?"(?<v>[0-9]+)"$""")]
    private static partial Regex ETagPattern();

    /// <summary>The version in If-Match (W/"3" or "3"), or null when absent; 400 when malformed.</summary>
    public static int? IfMatch(HttpRequest request)
    {
        var value = request.Headers.IfMatch.ToString();
        if (string.IsNullOrWhiteSpace(value)) return null;
        var m = ETagPattern().Match(value.Trim());
        if (!m.Success || !int.TryParse(m.Groups["v"].Value, out var version))
            throw FhirException.BadRequest($"If-Match '{value}' is not a version ETag such as W/\"3\".", "If-Match");
        return version;
    }

    public enum ReturnPreference { Representation, Minimal, OperationOutcome }

    public static ReturnPreference PreferReturn(HttpRequest request)
    {
        foreach (var part in request.Headers["Prefer"].ToString().Split([',', ';'], StringSplitOptions.TrimEntries))
        {
            if (!part.StartsWith("return=", StringComparison.OrdinalIgnoreCase)) continue;
            return part[7..].Trim('"').ToLowerInvariant() switch
            {
                "minimal" => ReturnPreference.Minimal,
                "operationoutcome" => ReturnPreference.OperationOutcome,
                _ => ReturnPreference.Representation,
            };
        }
        return ReturnPreference.Representation;
    }

    /// <summary>The public base URL from configuration (resolved at start, see FhirOptions), never from the Host header.</summary>
    public static string BaseUrl(HttpContext ctx) => ctx.RequestServices.GetRequiredService<IOptions<FhirOptions>>().Value.BaseUrl!;

    public const string BreakGlassHeader = "X-Break-Glass";

    /// <summary>The break-glass reason: required when the header is sent, and only for a caller with the break-glass role.</summary>
    private static string? BreakGlass(HttpRequest request, Caller caller)
    {
        if (!caller.Authenticated || !request.Headers.TryGetValue(BreakGlassHeader, out var values)) return null;
        var reason = values.ToString().Trim();
        if (reason.Length is 0 or > 500 || Interop.Fhir.Errors.FhirText.BadCharacter(reason) >= 0)
            throw FhirException.BadRequest($"{BreakGlassHeader} needs the reason for the emergency access (1-500 characters of text).", BreakGlassHeader);
        if (!caller.Unrestricted && !caller.Roles.Contains("break-glass"))
            throw FhirException.Forbidden($"{BreakGlassHeader} was sent, but this user or client does not have the break-glass role.");
        return reason;
    }

    /// <summary>Why the bearer token was refused, when one was sent and it was (for the 401's WWW-Authenticate).</summary>
    public const string AuthFailureKey = "auth.failure";

    /// <summary>Sets who calls, from the access token (the authentication layer does this before any endpoint runs).</summary>
    public static void SetCaller(HttpContext ctx, Caller caller) => ctx.Items[typeof(Caller)] = caller;

    /// <summary>
    /// The pipeline's context for this request: the caller the authentication layer found (see Auth/BearerGate),
    /// or an anonymous one, whom the authorise stage refuses wherever data is read or written.
    /// </summary>
    public static RequestContext Context(HttpContext ctx)
    {
        if (ctx.Items.TryGetValue(typeof(RequestContext), out var cached)) return (RequestContext)cached!;
        var caller = ctx.Items.TryGetValue(typeof(Caller), out var set) ? (Caller)set! : Caller.Anonymous();
        var context = new RequestContext(caller, BaseUrl(ctx), ctx.TraceIdentifier)
        {
            BreakGlass = BreakGlass(ctx.Request, caller), NetworkAddress = ctx.Connection.RemoteIpAddress?.ToString(),
        };
        // Every REST call is audited: its changes record themselves in their transaction, the rest in the audit stage.
        if (ctx.RequestServices.GetRequiredService<AuditLog>().For(context) is { } audit)
            context = context with { Writer = context.Writer with { Audit = audit } };
        ctx.Items[typeof(RequestContext)] = context;
        return context;
    }

    /// <summary>Sends a request through the pipeline with this HTTP request's context.</summary>
    public static Task<TResult> Send<TResult>(this HttpContext ctx, FhirRequest request) where TResult : InteractionResult =>
        ctx.RequestServices.GetRequiredService<FhirPipeline>().Send<TResult>(Context(ctx), request, ctx.RequestAborted);
}
