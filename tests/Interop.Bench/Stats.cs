using System.Collections.Concurrent;
using System.Diagnostics;

namespace Interop.Bench;

/// <summary>Latencies per named operation, recorded from many workers.</summary>
public sealed class Stats
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<double>> _samples = new();
    private long _errors;

    public void Record(string name, long startTimestamp) =>
        _samples.GetOrAdd(name, _ => []).Add(Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds);

    public void Error() => Interlocked.Increment(ref _errors);

    public long Errors => Interlocked.Read(ref _errors);

    public IEnumerable<Row> Rows(TimeSpan elapsed) => _samples.OrderBy(s => s.Key).Select(s =>
    {
        var sorted = s.Value.ToArray();
        Array.Sort(sorted);
        return new Row(s.Key, sorted.Length, sorted.Length / elapsed.TotalSeconds, Percentile(sorted, 0.50), Percentile(sorted, 0.95), Percentile(sorted, 0.99));
    });

    public long Count => _samples.Values.Sum(v => (long)v.Count);

    /// <summary>Every recorded latency (ms), of all operations.</summary>
    public IEnumerable<double> Latencies() => _samples.Values.SelectMany(v => v);

    public static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return Percentile(sorted, p);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    public sealed record Row(string Name, long Count, double PerSecond, double P50, double P95, double P99);
}

public static class Load
{
    /// <summary>Runs <paramref name="workers"/> loops until <paramref name="duration"/> has passed.</summary>
    public static async Task<TimeSpan> Run(int workers, TimeSpan duration, Func<int, CancellationToken, Task> loopBody)
    {
        using var cts = new CancellationTokenSource(duration);
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, workers).Select(async w =>
        {
            while (!cts.IsCancellationRequested)
            {
                try { await loopBody(w, cts.Token); }
                catch (OperationCanceledException) when (cts.IsCancellationRequested) { }
            }
        });
        await Task.WhenAll(tasks);
        return sw.Elapsed;
    }
}

/// <summary>
/// Two phases against two servers (the normal one and the same build with something off), alternating in slices —
/// on, off, off, on, … — so that drift during the run (the database growing, caches, other processes) falls on both.
/// </summary>
public static class Alternating
{
    public sealed record Rates(double FirstOn, double FirstOff, double SecondOn, double SecondOff, long Errors);

    public static async Task<Rates> Run(TimeSpan slice, Func<bool, TimeSpan, Task<(Stats Stats, TimeSpan Elapsed)>> first,
        Func<bool, TimeSpan, Task<(Stats Stats, TimeSpan Elapsed)>> second)
    {
        var count = new double[4];
        var seconds = new double[4];
        long errors = 0;
        for (var round = 0; round < 4; round++)
            foreach (var on in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var phases = new[] { await first(on, slice), await second(on, slice) };
                for (var p = 0; p < 2; p++)
                {
                    var i = p * 2 + (on ? 0 : 1);
                    count[i] += phases[p].Stats.Count;
                    seconds[i] += phases[p].Elapsed.TotalSeconds;
                    errors += phases[p].Stats.Errors;
                }
            }
        return new Rates(count[0] / seconds[0], count[1] / seconds[1], count[2] / seconds[2], count[3] / seconds[3], errors);
    }

    /// <summary>One phase against the two servers, on, off, off, on, … in slices; the rates and the p95 of all on and all off slices.</summary>
    public static async Task<(double On, double Off, double OnP95, double OffP95, long Errors)> One(TimeSpan slice, Func<bool, TimeSpan, Task<(Stats Stats, TimeSpan Elapsed)>> phase)
    {
        var count = new double[2];
        var seconds = new double[2];
        var p95 = new List<double>[] { [], [] };
        long errors = 0;
        for (var round = 0; round < 4; round++)
            foreach (var on in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var (stats, elapsed) = await phase(on, slice);
                var i = on ? 0 : 1;
                count[i] += stats.Count;
                seconds[i] += elapsed.TotalSeconds;
                errors += stats.Errors;
                p95[i].AddRange(stats.Latencies());
            }
        return (count[0] / seconds[0], count[1] / seconds[1], Stats.Percentile(p95[0], 0.95), Stats.Percentile(p95[1], 0.95), errors);
    }
}
