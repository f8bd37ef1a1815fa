using System.Globalization;
using Interop.Fhir.Audit;
using Interop.Fhir.Import;
using Interop.Fhir.Pipeline;
using Interop.Server.Seed;

namespace Interop.Server.Commands;

/// <summary>
/// ./interop.sh seed [--residents N] [--seed S] [--parallel P] [--as-of YYYY-MM-DD] [--no-validate]: the group's
/// directory (institutions, staff, family doctor teams), then the accounts that use it, then N synthetic residents of
/// seed S, each through the bulk importer with validation on (residents without it with --no-validate, where
/// Validation:ImportMayOptOut allows: the generator's output is shown valid by its tests). Prints a progress bar, the credentials and a summary.
/// </summary>
public static class SeedCommand
{
    /// <summary>How many of the residents get a sign-in for the app: the first ones, and as many showcase ones found among the first <see cref="ShowcaseAmong"/>.</summary>
    public const int ResidentAccounts = 5, ShowcaseAmong = 500;

    private const string Usage = "usage: seed [--residents N] [--seed S] [--parallel P] [--as-of YYYY-MM-DD] [--no-validate]";

    public static async Task<int> Run(IServiceProvider services, string[] args)
    {
        int residents = 0, seed = 1, parallel = 2;
        var asOf = Residents.DefaultAsOf;
        var validate = !args.Contains("--no-validate");
        if (!validate && !services.GetRequiredService<Interop.Fhir.Validation.ValidationOptions>().ImportMayOptOut)
        {
            Console.Error.WriteLine("seed: --no-validate is not allowed here (Validation:ImportMayOptOut is false)");
            return 2;
        }
        args = args.Where(a => a != "--no-validate").ToArray();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : "";
            var ok = args[i] switch
            {
                "--residents" => int.TryParse(value, out residents) && residents >= 0,
                "--seed" => int.TryParse(value, out seed),
                "--parallel" => int.TryParse(value, out parallel) && parallel > 0,
                "--as-of" => DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out asOf),
                _ => false,
            };
            if (!ok) { Console.Error.WriteLine(Usage); return 2; }
            i++;
        }
        var seeder = new Seeder(services.GetRequiredService<FhirPipeline>());
        var directory = Staffing.Build();
        var report = await seeder.LoadDirectory(directory, Bar("directory"), CancellationToken.None);
        Console.Error.WriteLine();
        Summary("directory", report);
        if (report.Failures.Count > 0) return await Done(services, report, residents, seed);

        var accounts = await SeedAccounts.Register(services, directory, seed, CancellationToken.None);
        Console.WriteLine($"accounts: {accounts.Count(a => a.Created)} registered, {accounts.Count(a => !a.Created)} already there " +
                          $"(the new ones' secrets are derived from seed {seed}; an existing account keeps its own):");
        foreach (var a in accounts) Console.WriteLine($"  {a.Kind,-6} {a.Name,-24} {a.Secret ?? "(existed)",-22}  {a.Note}");

        if (residents > 0)
        {
            var generator = new Residents(directory, seed, asOf);
            report = await seeder.LoadResidents(generator, residents, parallel, validate, Bar("residents"), CancellationToken.None);
            Console.Error.WriteLine();
            Summary("residents", report);
            Console.WriteLine($"residents: {residents:N0} of seed {seed} (ids r{seed}-000001…), as of {asOf:yyyy-MM-dd}, " +
                              $"{residents / Math.Max(0.001, report.Elapsed.TotalSeconds):N1} residents/s");
            if (report.Failures.Count == 0)
                foreach (var a in await SeedAccounts.RegisterResidents(services, generator, Math.Min(residents, ShowcaseAmong), ResidentAccounts, ResidentAccounts, CancellationToken.None))
                    Console.WriteLine($"  {a.Kind,-6} {a.Name,-24} {a.Secret ?? "(existed)",-22}  {a.Note}");
        }
        return await Done(services, report, residents, seed);
    }

    private static Action<SeedProgress> Bar(string what)
    {
        var lastDraw = DateTime.MinValue;
        return p =>
        {
            if ((DateTime.UtcNow - lastDraw).TotalMilliseconds < 250 && p.Fraction < 1) return;
            lastDraw = DateTime.UtcNow;
            var rate = p.Resources / Math.Max(0.001, p.Elapsed.TotalSeconds);
            var eta = p.Fraction > 0 ? TimeSpan.FromSeconds(p.Elapsed.TotalSeconds * (1 - p.Fraction) / p.Fraction) : TimeSpan.Zero;
            var bar = new string('#', (int)(p.Fraction * 30)).PadRight(30, '.');
            Console.Error.Write($"\r{what,-9} [{bar}] {p.Fraction,4:P0}  {p.Resources:N0} resources  {rate:N0}/s  ETA {eta:hh\\:mm\\:ss}   ");
        };
    }

    private static void Summary(string what, ImportReport report)
    {
        Console.WriteLine($"{what}: {report.Resources:N0} resources in {report.Units:N0} transactions, {report.Elapsed.TotalSeconds:N1} s " +
                          $"({report.Resources / Math.Max(0.001, report.Elapsed.TotalSeconds):N0} resources/s); {report.Failures.Count} failed");
        foreach (var f in report.Failures.Take(20)) Console.WriteLine($"  FAILED ({f.Unit}): {f.Message}");
    }

    // One record of the seed in the access log, as for an import: who ran it and what it loaded.
    private static async Task<int> Done(IServiceProvider services, ImportReport last, int residents, int seed)
    {
        await services.GetRequiredService<AuditLog>().Record(
            new AuditWho("seed", Environment.UserName, null, null, Environment.MachineName, null, null, Guid.NewGuid().ToString("N")),
            new AuditWhat(AuditEvents.Import, "seed", "C", last.Failures.Count == 0 ? 0 : 4,
                $"seed: the group directory and {residents} residents of seed {seed}; {last.Failures.Count} failed", [], []));
        return last.Failures.Count == 0 ? 0 : 1;
    }
}
