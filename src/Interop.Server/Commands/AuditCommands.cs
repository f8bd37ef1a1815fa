using System.Globalization;
using Interop.Fhir.Audit;
using Npgsql;

namespace Interop.Server.Commands;

/// <summary>
/// ./interop.sh audit verify [--start DAY] [--end DAY]: the access log's hash chains, intact (exit 0) or the first
/// broken link (exit 1). ./interop.sh audit purge --before DAY: retention by whole days, leaving a signed checkpoint
/// (needs Audit:SealKey and the schema owner's rights).
/// </summary>
public static class AuditCommands
{
    private const string Usage = "usage: ./interop.sh audit verify [--start YYYY-MM-DD] [--end YYYY-MM-DD] | purge --before YYYY-MM-DD";

    public static async Task<int> Run(IServiceProvider services, string[] args)
    {
        var db = services.GetRequiredService<NpgsqlDataSource>();
        var options = services.GetRequiredService<AuditOptions>();
        if (args.Length == 0) return Fail(Usage);
        DateOnly? start = null, end = null, before = null;
        for (var i = 1; i < args.Length; i++)
        {
            if (i + 1 >= args.Length || !DateOnly.TryParseExact(args[i + 1], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                return Fail($"{args[i]} needs a day (YYYY-MM-DD). {Usage}");
            switch (args[i])
            {
                case "--start": start = day; break;
                case "--end": end = day; break;
                case "--before": before = day; break;
                default: return Fail(Usage);
            }
            i++;
        }
        switch (args[0])
        {
            case "verify":
                var report = await AuditChain.Verify(db, start, end, options.SealKey, CancellationToken.None);
                foreach (var c in report.Checkpoints ?? []) Console.WriteLine($"checkpoint: {c}");
                if (report.Intact)
                {
                    Console.WriteLine($"intact: {report.Checked:N0} records checked on {report.Chains} chains");
                    return 0;
                }
                Console.WriteLine($"broken: {report.Problem}");
                if (report.BrokenId is not null) Console.WriteLine($"  record   AuditEvent/{report.BrokenId}\n  expected {report.Expected}\n  found    {report.Found}");
                Console.WriteLine($"  ({report.Checked:N0} records checked before it)");
                return 1;
            case "purge" when before is { } b:
                if (string.IsNullOrEmpty(options.SealKey)) return Fail("purge needs Audit:SealKey (Audit__SealKey) to sign its checkpoint.");
                try
                {
                    var (days, removed) = await AuditChain.Purge(db, b, options.SealKey, CancellationToken.None);
                    Console.WriteLine($"purge: {days} day partition(s) before {b:yyyy-MM-dd} removed ({removed:N0} records); a signed checkpoint records their chains");
                    return 0;
                }
                catch (ArgumentException e)
                {
                    return Fail(e.Message);
                }
            default:
                return Fail(Usage);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}
