using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;
using Interop.Server.Auth;
using Interop.Server.Rest;
using Interop.Server.Web;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace Interop.Server.Hosting;

public static class InteropSetup
{
    public static WebApplicationBuilder AddInterop(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString("Interop");
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException(
                "No database configured: set ConnectionStrings__Interop, or start the server with ./interop.sh serve, which runs a private PostgreSQL.");

        builder.Services.Configure<FhirOptions>(builder.Configuration.GetSection("Fhir"));
        builder.Services.AddSingleton<IPostConfigureOptions<FhirOptions>, BaseUrlSetup>();
        // The FHIR layer enforces its own body, URL and header limits (413/414/431 with an OperationOutcome):
        // Kestrel's sit above them so that it does not answer first with an empty body.
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Limits.MaxRequestLineSize = 8 * Interop.Fhir.Errors.Limits.RequestTarget;
            k.Limits.MaxRequestHeadersTotalSize = 2 * Interop.Fhir.Errors.Limits.RequestHeaders;
            k.Limits.MaxRequestHeaderCount = 10 * Interop.Fhir.Errors.Limits.RequestHeaderCount;
        });
        builder.Services.AddInteropServices(connectionString, builder.Configuration).AddSubscriptionDispatch();
        builder.AddInteropAuth(connectionString);
        builder.AddInteropPages();
        builder.AddInteropTelemetry();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", tags: ["ready"]);
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Interop FHIR R4 server",
                Version = "v1",
                Description = "FHIR R4 REST API. Resources are described by a generic schema; see http://hl7.org/fhir/R4 for each type.",
            });
        });
        return builder;
    }

    // {"status":"Unhealthy","checks":{"postgres":"database down: ..."}}: says which failure it is, not just that one happened.
    private static Task WriteHealth(HttpContext ctx, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        ctx.Response.ContentType = "application/json";
        return ctx.Response.WriteAsJsonAsync(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Description ?? e.Value.Status.ToString()),
        });
    }

    public static WebApplication UseInterop(this WebApplication app)
    {
        app.UseMiddleware<RequestLog>();
        app.UseMiddleware<FhirErrorMiddleware>();
        app.UseStatusCodePages(FhirErrorMiddleware.WriteStatusCodePage);
        app.UseInteropAuth();
        app.UseInteropPages();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(30) });
        app.UseSwagger();
        app.UseSwaggerUI(o => o.SwaggerEndpoint("/swagger/v1/swagger.json", "Interop FHIR R4"));
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = WriteHealth });
        app.UseInteropTelemetry();
        app.MapFhirApi();
        return app;
    }
}
