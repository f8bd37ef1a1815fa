using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Microsoft.AspNetCore.Diagnostics;

namespace Interop.Server.Rest;

/// <summary>
/// The one place where every failure becomes an OperationOutcome with the right status. Unexpected
/// exceptions are logged with a correlation id and answered 500 with that id, never a stack trace.
/// </summary>
public sealed class FhirErrorMiddleware(RequestDelegate next, ILogger<FhirErrorMiddleware> log)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        try
        {
            await next(ctx);
        }
        catch (FhirException e) when (!ctx.Response.HasStarted)
        {
            await Write(ctx, e.Status, e.Outcome);
        }
        catch (BadHttpRequestException e) when (!ctx.Response.HasStarted)
        {
            var code = e.StatusCode == 413 ? OperationOutcome.IssueType.TooCostly : OperationOutcome.IssueType.Invalid;
            await Write(ctx, e.StatusCode, Outcomes.Error(code, e.Message));
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e) when (!ctx.Response.HasStarted)
        {
            var correlationId = ctx.TraceIdentifier;
            log.LogError(e, "Unhandled error {CorrelationId} on {Method} {Path}", correlationId, ctx.Request.Method, ctx.Request.Path);
            await Write(ctx, 500, Outcomes.Error(OperationOutcome.IssueType.Exception,
                $"Internal server error. Quote correlation id {correlationId} when reporting it."), correlationId);
        }
    }

    private static Task Write(HttpContext ctx, int status, OperationOutcome outcome, string? correlationId = null)
    {
        ctx.Response.Clear();
        if (correlationId is not null) ctx.Response.Headers["X-Correlation-Id"] = correlationId;
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
