using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Import;
using Interop.Fhir.Pipeline;

namespace Interop.Server.Seed;

/// <summary>How far a seed load is: resources stored, the share done (0–1), time since it started.</summary>
public sealed record SeedProgress(long Resources, double Fraction, TimeSpan Elapsed);

/// <summary>
/// Loads generated resources through the bulk importer — the pipeline, so every resource is validated, indexed and
/// audited like any write. The resources are written as NDJSON (ids kept: PUT, so a re-run updates in place) into
/// a private temporary folder (0700), imported, and the folder is deleted. Residents go in batches of
/// <see cref="Batch"/>, each file holding whole residents in order, so a resident's Patient precedes its records.
/// </summary>
public sealed class Seeder(FhirPipeline pipeline)
{
    public const int Batch = 10_000, PerFile = 500;

    public async Task<ImportReport> LoadDirectory(GroupDirectory directory, Action<SeedProgress> progress, CancellationToken ct) =>
        await Load(directory.Resources.Chunk(PerFile * 2), 1, 0, 1, 2, validate: true, progress, ct); // no order needed: nothing in it is checked against the rest

    /// <summary>Residents 1..<paramref name="count"/> of <paramref name="generator"/>, <paramref name="parallel"/> files at a time.</summary>
    public async Task<ImportReport> LoadResidents(Residents generator, int count, int parallel, bool validate, Action<SeedProgress> progress, CancellationToken ct)
    {
        var reports = new List<ImportReport>();
        for (var first = 1; first <= count; first += Batch)
        {
            var last = Math.Min(count, first + Batch - 1);
            var files = Enumerable.Range(0, (last - first) / PerFile + 1)
                .Select(f => Enumerable.Range(first + f * PerFile, Math.Min(PerFile, last - first - f * PerFile + 1)).SelectMany(generator.Generate));
            var done = reports.Sum(r => r.Resources);
            var elapsed = reports.Aggregate(TimeSpan.Zero, (t, r) => t + r.Elapsed);
            reports.Add(await Load(files, count, first - 1, last - first + 1, parallel, validate,
                p => progress(p with { Resources = done + p.Resources, Elapsed = elapsed + p.Elapsed }), ct));
        }
        return new ImportReport(reports.Sum(r => r.Resources), reports.Sum(r => r.Units), 0,
            reports.Aggregate(TimeSpan.Zero, (t, r) => t + r.Elapsed), [.. reports.SelectMany(r => r.Failures)]);
    }

    // Writes each group of resources to its own NDJSON file and imports them; the progress of this batch is
    // reported as a share of the whole (items before it, items in it, items in all).
    private async Task<ImportReport> Load(IEnumerable<IEnumerable<Resource>> files, int total, int before, int size, int parallel, bool validate,
        Action<SeedProgress> progress, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("interop-seed-");
        try
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(folder.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var paths = new List<string>();
            foreach (var resources in files)
            {
                var path = Path.Combine(folder.FullName, $"seed-{paths.Count:D5}.ndjson");
                await using (var writer = new StreamWriter(path))
                    foreach (var resource in resources) await writer.WriteLineAsync(FhirSerialization.ToJson(resource));
                paths.Add(path);
            }
            var importer = new BulkImporter(pipeline, "");
            return await importer.Run(paths, new ImportOptions(parallel, Validate: validate), p =>
                progress(new SeedProgress(p.Resources, (before + size * (p.TotalBytes == 0 ? 1 : (double)p.Bytes / p.TotalBytes)) / total, p.Elapsed)), ct);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
