using System.Diagnostics;

namespace Interop.Server.Rest;

/// <summary>
/// A logging scope for every FHIR request (its correlation id) so that anything logged while it runs carries it,
/// and one structured line when it ends: interaction, resource, client, outcome (status) and duration.
/// The line is Information (off by default: `Logging:LogLevel:Interop.Requests`); requests slower than a second
/// are logged as warnings whatever the level. The client is the access token's client (anonymous without one).
/// </summary>
public sealed class RequestLog(RequestDelegate next, ILoggerFactory loggers)
{
    private readonly ILogger _log = loggers.CreateLogger("Interop.Requests");
    private static readonly long Slow = Stopwatch.Frequency;

    public async Task InvokeAsync(HttpContext ctx)
    {
        if (!ctx.Request.Path.StartsWithSegments("/fhir"))
        {
            await next(ctx);
            return;
        }
        var started = Stopwatch.GetTimestamp();
        using var scope = _log.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = ctx.TraceIdentifier });
        try
        {
            await next(ctx);
        }
        finally
        {
            var elapsed = Stopwatch.GetTimestamp() - started;
            var level = elapsed > Slow ? LogLevel.Warning : LogLevel.Information;
            if (_log.IsEnabled(level))
            {
                var interaction = ctx.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? "none";
                var route = ctx.Request.RouteValues;
                var client = ctx.Items.TryGetValue(typeof(Interop.Fhir.Pipeline.Caller), out var caller) ? ((Interop.Fhir.Pipeline.Caller)caller!).Client : "anonymous";
                _log.Log(level, "{Interaction} {ResourceType}/{ResourceId} by {Client} answered {Status} in {DurationMs} ms",
                    interaction, route["type"] ?? "-", route["id"] ?? "-", client, ctx.Response.StatusCode,
                    Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1));
            }
        }
    }
}
