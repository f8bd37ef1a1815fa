using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Interop.Bench;

/// <summary>
/// What PostgreSQL alone does on this machine: insert and select-by-id of the same JSON documents through
/// Npgsql, with the same concurrency as the server run. The server's figures are read against these.
/// </summary>
public static class RawBaseline
{
    public static async Task<(Stats Stats, TimeSpan InsertTime, TimeSpan SelectTime)> Run(string connectionString, int workers, TimeSpan duration)
    {
        await using var db = new NpgsqlDataSourceBuilder(connectionString) { Name = "bench-raw" }.Build();
        await using (var setup = db.CreateCommand("create schema if not exists bench_raw; drop table if exists bench_raw.docs; create table bench_raw.docs (id text primary key, doc jsonb not null)"))
            await setup.ExecuteNonQueryAsync();

        var stats = new Stats();
        var ids = new ConcurrentBag<string>();
        var counter = 0;
        var insertTime = await Load.Run(workers, duration, async (_, ct) =>
        {
            var n = Interlocked.Increment(ref counter);
            var id = Guid.CreateVersion7().ToString();
            var json = Documents.Json(Documents.Types[n % 4], id, n);
            var start = Stopwatch.GetTimestamp();
            await using var cmd = db.CreateCommand("insert into bench_raw.docs (id, doc) values ($1, $2::jsonb)");
            cmd.Parameters.AddWithValue(id);
            cmd.Parameters.AddWithValue(json);
            await cmd.ExecuteNonQueryAsync(CancellationToken.None);
            stats.Record("raw insert", start);
            ids.Add(id);
        });

        var all = ids.ToArray();
        var selectTime = await Load.Run(workers, duration, async (_, ct) =>
        {
            var id = all[Random.Shared.Next(all.Length)];
            var start = Stopwatch.GetTimestamp();
            await using var cmd = db.CreateCommand("select doc::text from bench_raw.docs where id = $1");
            cmd.Parameters.AddWithValue(id);
            var text = (string?)await cmd.ExecuteScalarAsync(CancellationToken.None);
            if (text is null) stats.Error();
            stats.Record("raw select-by-id", start);
        });
        return (stats, insertTime, selectTime);
    }

    /// <summary>The raw select-by-id rate of a run (req/s), for benches that report their figures against it.</summary>
    public static async Task<double> SelectPerSecond(string connectionString, int workers, TimeSpan duration)
    {
        var raw = await Run(connectionString, workers, duration);
        return raw.Stats.Rows(raw.SelectTime).Single(r => r.Name == "raw select-by-id").PerSecond;
    }
}
