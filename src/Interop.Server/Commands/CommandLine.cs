using Interop.Fhir.Audit;
using System.Text.Json;
using Interop.Fhir.Import;
using Interop.Fhir.Storage;
using Interop.Fhir.Pipeline;
using Interop.Server.Auth;
using Interop.Server.Hosting;
using Marten;
using Npgsql;

namespace Interop.Server.Commands;

/// <summary>Maintenance commands run with the server's configuration instead of serving: reindex, import, seed.</summary>
public static class CommandLine
{
    public static bool IsCommand(string[] args) => args.Length > 0 && args[0] is "reindex" or "import" or "migrate" or "clients" or "users" or "audit" or "seed";

    public static async Task<int> Run(string[] args)
    {
        var builder = Host.CreateApplicationBuilder([]);
        var connectionString = builder.Configuration.GetConnectionString("Interop");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            Console.Error.WriteLine("No database configured: set ConnectionStrings__Interop (./interop.sh does this for the private cluster).");
            return 2;
        }
        builder.Configuration["Logging:LogLevel:Default"] = "Warning"; // a progress line, not start-up chatter
        if (args[0] == "migrate") builder.Configuration["Fhir:MigrateOnStart"] = "true";
        // Maintenance statements (purges, index builds, large transactions) may run for minutes: no command timeout.
        connectionString = new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 0 }.ConnectionString;
        builder.Services.AddInteropServices(connectionString, builder.Configuration);
        builder.Services.AddAuthStore(connectionString);
        using var host = builder.Build();
        await host.StartAsync(); // migrates the schema, creates the index tables
        var services = host.Services;
        try
        {
            return args[0] switch
            {
                "reindex" => await Reindex(services),
                "migrate" => await Migrate(services),
                "clients" or "users" => await AuthCommands.Run(services, args),
                "audit" => await AuditCommands.Run(services, args[1..]),
                "seed" => await SeedCommand.Run(services, args[1..]),
                _ => await Import(services, args[1..]),
            };
        }
        finally
        {
            await host.StopAsync();
        }
    }

    // Starting the host applied the migrations (MigrateOnStart is forced on for this command): report where it stands.
    private static async Task<int> Migrate(IServiceProvider services)
    {
        await using var connection = await services.GetRequiredService<NpgsqlDataSource>().OpenConnectionAsync();
        Console.WriteLine($"migrate: the schema is at version {await Migrations.Current(connection, CancellationToken.None)} (this server's latest: {Migrations.Latest})");
        return 0;
    }

    private static async Task<int> Reindex(IServiceProvider services)
    {
        var reindexer = services.GetRequiredService<Reindexer>();
        var started = DateTime.UtcNow;
        var total = await reindexer.Run(500, done =>
            Console.Error.Write($"\rreindexed {done:N0} resources ({done / Math.Max(0.001, (DateTime.UtcNow - started).TotalSeconds):N0}/s)"), CancellationToken.None);
        Console.Error.WriteLine();
        Console.WriteLine($"reindex: {total:N0} resources in {(DateTime.UtcNow - started).TotalSeconds:N1} s");
        return 0;
    }

    private static async Task<int> Import(IServiceProvider services, string[] args)
    {
        var paths = new List<string>();
        int parallel = 2, replicate = 1;
        string? stateDir = null;
        var validate = true;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--parallel": parallel = int.Parse(args[++i]); break;
                case "--replicate": replicate = int.Parse(args[++i]); break;
                case "--state-dir": stateDir = args[++i]; break;
                case "--no-validate": validate = false; break;
                default: paths.Add(Path.GetFullPath(args[i], Environment.GetEnvironmentVariable("INTEROP_CALLER_DIR") ?? Environment.CurrentDirectory)); break;
            }
        }
        if (paths.Count == 0)
        {
            Console.Error.WriteLine("usage: import [--parallel N] [--replicate N] [--state-dir DIR] [--no-validate] <file or folder>...");
            return 2;
        }
        if (!validate && !services.GetRequiredService<Interop.Fhir.Validation.ValidationOptions>().ImportMayOptOut)
        {
            Console.Error.WriteLine("import: --no-validate is not allowed here (Validation:ImportMayOptOut is false)");
            return 2;
        }
        var db = services.GetRequiredService<NpgsqlDataSource>();
        string? statePath = null;
        if (stateDir is not null)
        {
            // One state file per database, so resuming never skips work done against another database.
            await using var cmd = db.CreateCommand("select system_identifier::text || '-' || current_database() from pg_control_system()");
            statePath = Path.Combine(stateDir, $"import-state-{await cmd.ExecuteScalarAsync()}.json");
            Directory.CreateDirectory(stateDir);
        }
        var importer = new BulkImporter(services.GetRequiredService<FhirPipeline>(), "");
        var lastDraw = DateTime.MinValue;
        var report = await importer.Run(paths, new ImportOptions(parallel, replicate, StatePath: statePath, Validate: validate), p =>
        {
            if ((DateTime.UtcNow - lastDraw).TotalMilliseconds < 250 && p.Bytes < p.TotalBytes) return;
            lastDraw = DateTime.UtcNow;
            var fraction = p.TotalBytes == 0 ? 1 : (double)p.Bytes / p.TotalBytes;
            var rate = p.Resources / Math.Max(0.001, p.Elapsed.TotalSeconds);
            var eta = fraction > 0 ? TimeSpan.FromSeconds(p.Elapsed.TotalSeconds * (1 - fraction) / fraction) : TimeSpan.Zero;
            var bar = new string('#', (int)(fraction * 30)).PadRight(30, '.');
            Console.Error.Write($"\r[{bar}] {fraction,4:P0}  {p.Resources:N0} resources  {rate:N0}/s  ETA {eta:hh\\:mm\\:ss}   ");
        }, CancellationToken.None);
        Console.Error.WriteLine();
        Console.WriteLine($"import: {report.Resources:N0} resources in {report.Units:N0} transactions, {report.Elapsed.TotalSeconds:N1} s " +
                          $"({report.Resources / Math.Max(0.001, report.Elapsed.TotalSeconds):N0} resources/s); {report.SkippedUnits:N0} already done earlier; {report.Failures.Count} failed");
        foreach (var f in report.Failures.Take(50)) Console.WriteLine($"  FAILED {f.File} (copy {f.Replica}, {f.Unit}): {f.Message}");
        // One record of the whole import in the access log: who ran it, from where, what it loaded.
        await services.GetRequiredService<AuditLog>().Record(
            new AuditWho("import", Environment.UserName, null, null, Environment.MachineName, null, null, Guid.NewGuid().ToString("N")),
            new AuditWhat(AuditEvents.Import, "import", "C", report.Failures.Count == 0 ? 0 : 4,
                $"{report.Resources} resources in {report.Units} transactions from {string.Join(", ", paths)}; {report.Failures.Count} failed", [], []));
        if (statePath is not null)
        {
            var reportPath = Path.ChangeExtension(statePath, ".report.json");
            await File.WriteAllTextAsync(reportPath, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"report: {reportPath}");
        }
        return report.Failures.Count == 0 ? 0 : 1;
    }
}
