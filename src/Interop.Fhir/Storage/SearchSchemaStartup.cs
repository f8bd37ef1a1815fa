using Interop.Fhir.Indexing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>At start: create the search index tables and compile every search parameter expression.</summary>
public sealed class SearchSchemaStartup(NpgsqlDataSource db, ILogger<SearchSchemaStartup> log) : IHostedService
{
    public async Task StartAsync(CancellationToken ct)
    {
        await SearchSchema.Apply(db, ct);
        var count = SearchParamRegistry.Warm();
        log.LogInformation("Search index ready: {Count} search parameters compiled", count);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
