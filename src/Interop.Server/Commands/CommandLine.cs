using Interop.Fhir.Storage;
using Marten;
using Npgsql;

namespace Interop.Server.Commands;

/// <summary>Maintenance commands run with the server's configuration instead of serving: reindex.</summary>
public static class CommandLine
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "reindex";

    public static async Task<int> Run(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args[1..]);
        var connectionString = builder.Configuration.GetConnectionString("Interop");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Console.Error.WriteLine("No database configured: set ConnectionStrings__Interop (./interop.sh reindex does this for the private cluster).");
            return 2;
        }
        builder.Services.AddFhirStorage(connectionString);
        using var host = builder.Build();
        await host.StartAsync(); // migrates the schema, creates the index tables
        var reindexer = new Reindexer(host.Services.GetRequiredService<IDocumentStore>(), host.Services.GetRequiredService<NpgsqlDataSource>());
        var started = DateTime.UtcNow;
        var total = await reindexer.Run(500, done =>
            Console.Error.Write($"\rreindexed {done:N0} resources ({done / Math.Max(0.001, (DateTime.UtcNow - started).TotalSeconds):N0}/s)"), CancellationToken.None);
        Console.Error.WriteLine();
        Console.WriteLine($"reindex: {total:N0} resources in {(DateTime.UtcNow - started).TotalSeconds:N1} s");
        await host.StopAsync();
        return 0;
    }
}
