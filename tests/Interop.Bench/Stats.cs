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
