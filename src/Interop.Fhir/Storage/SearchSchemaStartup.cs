using Interop.Fhir.Indexing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// At start: bring the schema to this server's migration version (or, with MigrateOnStart off, require it), and
/// compile every search parameter expression so the first write does not pay for it.
/// </summary>
public sealed class SearchSchemaStartup(NpgsqlDataSource db, StorageOptions options, ILogger<SearchSchemaStartup> log) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        if (options.MigrateOnStart)
        {
            foreach (var m in await Migrations.Apply(db, ct)) log.LogInformation("Schema migration {Version} applied: {Name}", m.Version, m.Name);
            if (options.GrantTo is { Length: > 0 } role)
            {
                await Migrations.Grant(db, role, ct);
                await AuditSchema.Grant(db, role, ct);
                await PlannerStatistics.Grant(db, role, ct);
            }
        }
        else
            await Migrations.RequireCurrent(db, ct);
        var count = SearchParamRegistry.Warm();
        log.LogInformation("Search index ready (schema version {Version}): {Count} search parameters compiled", Migrations.Latest, count);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
