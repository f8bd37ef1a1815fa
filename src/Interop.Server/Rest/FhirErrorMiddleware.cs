using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace Interop.Server.Rest;

/// <summary>
/// The one place where every failure becomes an OperationOutcome with the right status. Database failures are
/// classified (contention 409, unavailable 503 with Retry-After, refused values 400); unexpected exceptions are
/// logged with a correlation id and answered 500 with that id, never a stack trace. Database errors are logged
/// without their message text, which can quote patient data.
/// </summary>
public sealed class FhirErrorMiddleware(RequestDelegate next, ILogger<FhirErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        if (RequestTooLarge(ctx.Request) is { } tooLarge)
        {
            await Write(ctx, tooLarge);
            return;
        }
        try
        {
            await next(ctx);
        }
        catch (FhirException e) when (!ctx.Response.HasStarted)
        {
            await Write(ctx, e);
        }
        catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
        {
            var code = e.StatusCode == 413 ? OperationOutcome.IssueType.TooCostly : OperationOutcome.IssueType.Invalid;
            await Write(ctx, Outcomes.Error(code, e.Message), e.StatusCode, null);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (!ctx.Response.HasStarted && DatabaseErrors.Classify(e) is { } mapped)
        {
            log.LogWarning("{Method} {Path} answered {Status}: {Database}", ctx.Request.Method, ctx.Request.Path, HttpStatus.Of(mapped.Kind), DatabaseErrors.Describe(e));
            await Write(ctx, mapped);
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var correlationId = ctx.TraceIdentifier;
            if (DatabaseErrors.Find<Npgsql.NpgsqlException>(e) is not null)
                log.LogError("Unhandled database error {CorrelationId} on {Method} {Path}: {Database}\n{StackTrace}",
                    correlationId, ctx.Request.Method, ctx.Request.Path, DatabaseErrors.Describe(e), e.StackTrace);
            else
                log.LogError(e, "Unhandled error {CorrelationId} on {Method} {Path}", correlationId, ctx.Request.Method, ctx.Request.Path);
            ctx.Response.Headers["X-Correlation-Id"] = correlationId;
            await Write(ctx, FhirException.Of(ErrorKind.Internal, OperationOutcome.IssueType.Exception,
                $"Internal server error. Quote correlation id {correlationId} when reporting it."));
        }
    }

    /// <summary>
    /// The request line and header limits, answered with an OperationOutcome. Kestrel's own limits sit above these
    /// (see InteropSetup) so that ordinary oversized requests get here; only what Kestrel cannot parse as HTTP at all
    /// gets its bare answer.
    /// </summary>
    private static FhirException? RequestTooLarge(HttpRequest request)
    {
        var target = (request.Path.Value?.Length ?? 0) + (request.QueryString.Value?.Length ?? 0);
        if (target > Limits.RequestTarget)
            return FhirException.Of(ErrorKind.UriTooLong, OperationOutcome.IssueType.TooCostly,
                $"The request URL is {target} characters long; the limit is {Limits.RequestTarget}. Send long searches as POST {request.Path}/_search with a form body.");
        if (request.Headers.Count > Limits.RequestHeaderCount)
            return FhirException.Of(ErrorKind.HeadersTooLarge, OperationOutcome.IssueType.TooCostly, $"The request has {request.Headers.Count} headers; the limit is {Limits.RequestHeaderCount}.");
        long headers = 0;
        foreach (var (name, values) in request.Headers) headers += name.Length + values.ToString().Length + 4;
        return headers > Limits.RequestHeaders
            ? FhirException.Of(ErrorKind.HeadersTooLarge, OperationOutcome.IssueType.TooCostly, $"The request headers take {headers} bytes; the limit is {Limits.RequestHeaders}.")
            : null;
    }

    private static Task Write(HttpContext ctx, FhirException e)
    {
        if (e.Kind == ErrorKind.Unauthenticated) return Unauthenticated(ctx, e);
        return Write(ctx, e.Outcome, HttpStatus.Of(e.Kind), e.RetryAfter);
    }

    // RFC 6750: a request without a token gets the challenge; one whose token was refused also learns why.
    private static Task Unauthenticated(HttpContext ctx, FhirException e)
    {
        var failure = ctx.Items.TryGetValue(FhirHttp.AuthFailureKey, out var f) ? f as string : null;
        var outcome = failure is null ? e.Outcome
            : Outcomes.Error(OperationOutcome.IssueType.Login, $"The access token was refused: {failure}");
        return Write(ctx, outcome, 401, null, failure is null
            ? "Bearer realm=\"interop\""
            : $"Bearer realm=\"interop\", error=\"invalid_token\", error_description=\"{failure.Replace("\"", "'")}\"");
    }

    private static Task Write(HttpContext ctx, OperationOutcome outcome, int status, int? retryAfter, string? challenge = null)
    {
        var correlationId = ctx.Response.Headers["X-Correlation-Id"];
        ctx.Response.Clear();
        if (correlationId.Count > 0) ctx.Response.Headers["X-Correlation-Id"] = correlationId;
        if (challenge is not null) ctx.Response.Headers.WWWAuthenticate = challenge;
        if (retryAfter is { } seconds) ctx.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return FhirResults.WritePoco(ctx, outcome, status, FhirHttp.OutputOrDefault(ctx));
    }

    /// <summary>Gives bodiless 404/405 answers from routing an OperationOutcome too.</summary>
    public static Task WriteStatusCodePage(StatusCodeContext context)
    {
        var ctx = context.HttpContext;
        var status = ctx.Response.StatusCode;
        var request = $"{ctx.Request.Method} {ctx.Request.Path}";
        var outcome = status switch
        {
            404 => Outcomes.Error(OperationOutcome.IssueType.NotFound, $"Nothing here: {request} matches no FHIR interaction."),
            405 => Outcomes.Error(OperationOutcome.IssueType.NotSupported, $"Method not allowed: {request} is not a supported interaction."),
            415 => Outcomes.Error(OperationOutcome.IssueType.NotSupported,
                $"Content-Type '{ctx.Request.ContentType}' is not supported for {request}; use application/fhir+json or application/fhir+xml."),
            _ => Outcomes.Error(OperationOutcome.IssueType.Processing, $"HTTP {status} for {request}."),
        };
        return FhirResults.WritePoco(ctx, outcome, status, FhirHttp.OutputOrDefault(ctx));
    }
}
