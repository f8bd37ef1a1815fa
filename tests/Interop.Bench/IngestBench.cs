using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Interop.Bench;

/// <summary>
/// Ingest: (1) the Synthea bundles as transactions from N concurrent clients over HTTP, (2) the same through
/// the bulk import path, (3) PostgreSQL alone writing the same document and index rows into tables with the
/// same indexes (the storage ceiling). Each copy of the bundles gets fresh ids.
/// </summary>
public static partial class IngestBench
{
    private const int Copies = 3;

    public static async Task<int> Run(Args options, HttpClient http)
    {
        var files = Directory.GetFiles(options.Synthea ?? throw new ArgumentException("--synthea is required"), "*.json")
            .OrderBy(f => Path.GetFileName(f).StartsWith("hospital") ? 0 : Path.GetFileName(f).StartsWith("practitioner") ? 1 : 2).ThenBy(f => f).ToList();
        var clients = Math.Min(options.Workers, 4);

        // (1) transactions over HTTP
        var work = new Queue<(string File, int Copy)>(Enumerable.Range(0, Copies).SelectMany(c => files.Select(f => (f, c))));
        long resources = 0, errors = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (true)
            {
                (string File, int Copy) item;
                lock (work) { if (work.Count == 0) return; item = work.Dequeue(); }
                var text = Fresh(await File.ReadAllTextAsync(item.File), 1000 + item.Copy);
                var response = await http.PostAsync(options.Url, new StringContent(text, Encoding.UTF8, "application/fhir+json"));
                if (response.IsSuccessStatusCode) Interlocked.Add(ref resources, Regex.Matches(text, "\"request\"").Count);
                else
                {
                    Interlocked.Increment(ref errors);
                    Console.WriteLine($"  {(int)response.StatusCode} {Path.GetFileName(item.File)}: {(await response.Content.ReadAsStringAsync())[..200]}");
                }
            }
        }));
        var transactionRate = resources / sw.Elapsed.TotalSeconds;
        Console.WriteLine($"transactions over HTTP:  {resources:N0} resources in {sw.Elapsed.TotalSeconds:F1} s = {transactionRate:F0} resources/s ({clients} clients, {errors} failed bundles) — goal ≥ 700");

        // (2) bulk import path
        double bulkRate = 0;
        if (options.Bulk is { } bulk)
        {
            var start = new ProcessStartInfo("bash", ["-c", $"{bulk} --replicate {Copies} '{options.Synthea}'"]) { RedirectStandardOutput = true };
            start.Environment["ConnectionStrings__Interop"] = options.Pg;
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            var m = Regex.Match(output, @"import: ([\d,]+) resources in \d+ transactions, ([\d.,]+) s \(([\d,]+) resources/s\)");
            if (m.Success) bulkRate = double.Parse(m.Groups[3].Value.Replace(",", ""));
            Console.WriteLine($"bulk import path:        {(m.Success ? m.Value["import: ".Length..] : "failed: " + output)}");
        }

        // (3) PostgreSQL alone: the same rows into tables with the same indexes
        var (rawResources, rawSeconds) = await RawInsert(options.Pg, clients);
        var rawRate = rawResources / rawSeconds;
        Console.WriteLine($"raw PostgreSQL insert:   {rawResources:N0} resources (document, version and index rows) in {rawSeconds:F1} s = {rawRate:F0} resources/s");
        Console.WriteLine($"ratio transactions/raw:  {transactionRate / rawRate:F2}; bulk/raw: {bulkRate / rawRate:F2}");
        await Report.Write(options.Out, new
        {
            machine = new { cores = Environment.ProcessorCount, clients }, copies = Copies,
            transactions = new { resources, seconds = sw.Elapsed.TotalSeconds, perSecond = transactionRate, failedBundles = errors },
            bulkPerSecond = bulkRate, raw = new { resources = rawResources, seconds = rawSeconds, perSecond = rawRate },
        });
        return errors == 0 ? 0 : 1;
    }

    private static readonly string[] Tables = ["mt_doc_resourcedoc", "mt_doc_resourceversiondoc", "ix_string", "ix_token", "ix_date", "ix_number", "ix_quantity", "ix_reference", "ix_uri", "ix_composite", "ix_text"];

    private static async Task<(long, double)> RawInsert(string pg, int clients)
    {
        await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(pg) { CommandTimeout = 0 }.ConnectionString); // maintenance-sized statements
        await using (var setup = db.CreateCommand("drop schema if exists bench_raw cascade; create schema bench_raw; " +
            string.Join(" ", Tables.Select(t => $"create table bench_raw.{t} (like fhir.{t} including all excluding generated);"))))
            await setup.ExecuteNonQueryAsync();
        var keys = new List<string>();
        await using (var cmd = db.CreateCommand("select id from fhir.mt_doc_resourcedoc where not deleted order by id"))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
        var batches = new Queue<string[]>(keys.Chunk(300));
        var sql = string.Join(";", Tables.Select(t => t switch
        {
            "mt_doc_resourcedoc" => $"insert into bench_raw.{t} select * from fhir.{t} where id = any($1)",
            "mt_doc_resourceversiondoc" => $"insert into bench_raw.{t} select * from fhir.{t} where key = any($1)",
            _ => $"insert into bench_raw.{t} select * from fhir.{t} where rid = any(select fhir.key_rid(k) from unnest($1::text[]) as k)",
        }));
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            while (true)
            {
                string[] batch;
                lock (batches) { if (batches.Count == 0) return; batch = batches.Dequeue(); }
                await using var connection = await db.OpenConnectionAsync();
                await using var tx = await connection.BeginTransactionAsync();
                await using var insert = new NpgsqlBatch(connection, tx);
                foreach (var statement in sql.Split(';'))
                {
                    var command = new NpgsqlBatchCommand(statement);
                    command.Parameters.AddWithValue(batch);
                    insert.BatchCommands.Add(command);
                }
                await insert.ExecuteNonQueryAsync();
                await tx.CommitAsync();
            }
        }));
        return (keys.Count, sw.Elapsed.TotalSeconds);
    }

    [GeneratedRegex("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex Uuid();

    public static string Fresh(string text, int copy) =>
        Uuid().Replace(text, m => new Guid(MD5.HashData(Encoding.ASCII.GetBytes(m.Value.ToLowerInvariant() + "#" + copy))).ToString());
}
