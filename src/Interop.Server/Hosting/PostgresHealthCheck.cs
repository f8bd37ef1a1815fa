using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Interop.Server.Hosting;

/// <summary>
/// Ready when PostgreSQL answers a trivial query within a few seconds. The answer tells an exhausted connection
/// pool (the database is up but every pooled connection is busy: the server is overloaded) from a database that is
/// down or refusing connections, since an operator does different things about each.
/// </summary>
public sealed class PostgresHealthCheck(NpgsqlDataSource db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        try
        {
            await using var cmd = db.CreateCommand("select 1");
            cmd.CommandTimeout = 5;
            await cmd.ExecuteScalarAsync(ct);
            return HealthCheckResult.Healthy("PostgreSQL answers");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            var poolExhausted = e.Message.Contains("pool", StringComparison.OrdinalIgnoreCase) && e.InnerException is TimeoutException;
            return poolExhausted
                ? HealthCheckResult.Unhealthy("pool exhausted: PostgreSQL is up but every pooled connection stayed busy (overload)")
                : HealthCheckResult.Unhealthy("database down: PostgreSQL is unreachable or refuses connections",
                    data: new Dictionary<string, object> { ["sqlstate"] = (e as PostgresException)?.SqlState ?? "none" });
        }
    }
}
