using Interop.Fhir.Audit;

namespace Interop.Server.Hosting;

/// <summary>At start, after the migrations: the access log's partitions for today and the next days exist before the first request.</summary>
public sealed class AuditStartup(AuditLog log) : IHostedService
{
    public Task StartAsync(CancellationToken ct) => log.Ready(ct);

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
