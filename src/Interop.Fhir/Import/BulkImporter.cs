using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using Interop.Fhir.Formats;
using Interop.Fhir.Pipeline;
using Interop.Fhir.Storage;
using Interop.Fhir.Transactions;

namespace Interop.Fhir.Import;

/// <param name="Validate">False for a trusted source (`import --no-validate`): the validate stage lets its resources through.</param>
public sealed record ImportOptions(int Parallelism = 2, int Replicas = 1, int ChunkSize = 500, string? StatePath = null, bool Validate = true);

public sealed record ImportFailure(string File, int Replica, string Unit, string Message);

public sealed record ImportProgress(long Resources, long Bytes, long TotalBytes, TimeSpan Elapsed);

public sealed record ImportReport(long Resources, long Units, long SkippedUnits, TimeSpan Elapsed, IReadOnlyList<ImportFailure> Failures);

/// <summary>
/// Loads FHIR bundles (transaction, batch, collection) and NDJSON files through the interaction pipeline, with the
/// same parsing, indexing and reference rules as the REST API: each bundle (or NDJSON chunk) is one transaction. Units run in parallel;
/// finished units are recorded so an interrupted import resumes. With Replicas > 1 every bundle is loaded
/// again under fresh ids (its UUIDs rewritten), which is how benchmark data sets are built from Synthea.
/// </summary>
public sealed partial class BulkImporter(FhirPipeline pipeline, string baseUrl)
{
    private readonly RequestContext _importer = RequestContext.ForSystem("import", baseUrl);

    public async Task<ImportReport> Run(IReadOnlyList<string> paths, ImportOptions options, Action<ImportProgress> progress, CancellationToken ct)
    {
        var files = paths.SelectMany(Expand).ToList();
        var state = ImportState.Load(options.StatePath);
        var totalBytes = files.Sum(f => new FileInfo(f).Length) * (long)options.Replicas;
        long resources = 0, bytes = 0, units = 0, skipped = 0;
        var failures = new List<ImportFailure>();
        var clock = Stopwatch.StartNew();

        var work = files.SelectMany(f => Enumerable.Range(0, options.Replicas).Select(r => (File: f, Replica: r)));
        await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = ct }, async (item, token) =>
        {
            var size = new FileInfo(item.File).Length;
            var bundleFile = !item.File.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase);
            if (bundleFile && state.IsDone(ImportState.Key(item.File, item.Replica, 0)))
            {
                // A finished bundle is skipped without reading it.
                Interlocked.Increment(ref skipped);
                Interlocked.Add(ref bytes, size);
                return;
            }
            foreach (var (chunk, entries, label, error) in Units(item.File, item.Replica, options.ChunkSize))
            {
                var key = ImportState.Key(item.File, item.Replica, chunk);
                if (state.IsDone(key)) { Interlocked.Increment(ref skipped); continue; }
                if (error is not null)
                {
                    lock (failures) failures.Add(new ImportFailure(item.File, item.Replica, label, error));
                    continue;
                }
                try
                {
                    // Through the pipeline like any transaction: every entry is authorised, validated, audited.
                    var context = options.Validate ? _importer : _importer with { SkipValidation = true };
                    var outcome = await pipeline.Send<BundleOutcome>(context, new BundleRequest(entries!, Atomic: true), token);
                    Interlocked.Add(ref resources, outcome.Entries.Count);
                    state.MarkDone(key);
                    Interlocked.Increment(ref units);
                }
                catch (Exception x) when ((x as FhirException ?? DatabaseErrors.Classify(x)) is { } e)
                {
                    // A refused unit (or one the database could not take now) is reported and left for a resumed run.
                    var message = string.Join("; ", e.Outcome.Issue.Select(i => i.Diagnostics));
                    lock (failures) failures.Add(new ImportFailure(item.File, item.Replica, label, $"{e.Kind}: {message}"));
                }
                progress(new ImportProgress(Interlocked.Read(ref resources), Interlocked.Read(ref bytes), totalBytes, clock.Elapsed));
            }
            Interlocked.Add(ref bytes, size);
            progress(new ImportProgress(Interlocked.Read(ref resources), Interlocked.Read(ref bytes), totalBytes, clock.Elapsed));
        });
        return new ImportReport(resources, units, skipped, clock.Elapsed, failures);
    }

    private static IEnumerable<string> Expand(string path)
    {
        if (Directory.Exists(path))
            return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal);
        if (File.Exists(path)) return [path];
        throw new FileNotFoundException($"No such file or folder: {path}");
    }

    /// <summary>The transactions a file makes: one per bundle, one per chunk of NDJSON lines.</summary>
    private static IEnumerable<(int Chunk, List<EntryRequest>? Entries, string Label, string? Error)> Units(string file, int replica, int chunkSize)
    {
        if (file.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
        {
            var chunk = new List<EntryRequest>();
            var number = 0;
            var line = 0;
            string? error = null;
            foreach (var text in File.ReadLines(file))
            {
                line++;
                if (string.IsNullOrWhiteSpace(text)) continue;
                try
                {
                    chunk.Add(AsEntry(FhirSerialization.ParseJson(Encoding.UTF8.GetBytes(text)), chunk.Count));
                }
                catch (FhirException e)
                {
                    error ??= $"line {line}: " + string.Join("; ", e.Outcome.Issue.Select(i => $"{i.Diagnostics} ({string.Join(",", i.Expression)})"));
                }
                if (chunk.Count == chunkSize)
                {
                    yield return (number, error is null ? chunk : null, $"lines up to {line}", error);
                    (chunk, error, number) = ([], null, number + 1);
                }
            }
            if (chunk.Count > 0 || error is not null) yield return (number, error is null ? chunk : null, $"lines up to {line}", error);
            yield break;
        }

        List<EntryRequest>? entries = null;
        string? problem = null;
        try
        {
            var text = File.ReadAllText(file);
            if (replica > 0) text = FreshIds(text, replica);
            var resource = FhirSerialization.ParseJson(Encoding.UTF8.GetBytes(text));
            entries = resource is Bundle { Type: Bundle.BundleType.Transaction or Bundle.BundleType.Batch } bundle
                ? EntryRequest.FromBundle(bundle, "")
                : resource is Bundle other ? other.Entry.Where(e => e.Resource is not null).Select((e, i) => AsEntry(e.Resource!, i, e.FullUrl)).ToList()
                : [AsEntry(resource, 0)];
        }
        catch (FhirException e)
        {
            problem = string.Join("; ", e.Outcome.Issue.Select(i => $"{i.Diagnostics} ({string.Join(",", i.Expression)})"));
        }
        yield return (0, entries, "bundle", problem);
    }

    private static EntryRequest AsEntry(Resource resource, int index, string? fullUrl = null) =>
        string.IsNullOrEmpty(resource.Id)
            ? new EntryRequest(index, fullUrl, Bundle.HTTPVerb.POST, resource.TypeName, resource)
            : new EntryRequest(index, fullUrl, Bundle.HTTPVerb.PUT, $"{resource.TypeName}/{resource.Id}", resource);

    [GeneratedRegex("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex Uuid();

    /// <summary>Every UUID in the text replaced consistently by one derived from it and the replica number.</summary>
    public static string FreshIds(string text, int replica) =>
        Uuid().Replace(text, m =>
        {
            var bytes = System.Security.Cryptography.MD5.HashData(Encoding.ASCII.GetBytes(m.Value.ToLowerInvariant() + "#" + replica));
            return new Guid(bytes).ToString();
        });
}
