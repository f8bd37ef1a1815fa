using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Interop.Server.Hosting;

/// <summary>
/// OpenTelemetry for ASP.NET Core and Npgsql (which reports through its own ActivitySource and Meter, both named
/// "Npgsql"): metrics always, scraped by Prometheus at /metrics; traces and an OTLP copy of the metrics when
/// OTEL_EXPORTER_OTLP_ENDPOINT names a collector (no spans are made when nothing would receive them).
/// </summary>
public static class Telemetry
{
    public static WebApplicationBuilder AddInteropTelemetry(this WebApplicationBuilder builder)
    {
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("interop", serviceVersion: typeof(Telemetry).Assembly.GetName().Version?.ToString(3)))
            .WithMetrics(m =>
            {
                m.AddAspNetCoreInstrumentation().AddMeter("Npgsql").AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
        if (otlp)
            telemetry.WithTracing(t => t.AddAspNetCoreInstrumentation(o => o.Filter = ctx => ctx.Request.Path.StartsWithSegments("/fhir"))
                .AddSource("Npgsql").AddOtlpExporter());
        return builder;
    }

    public static WebApplication UseInteropTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
