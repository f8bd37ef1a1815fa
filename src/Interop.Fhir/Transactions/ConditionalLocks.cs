using Interop.Fhir.Errors;

namespace Interop.Fhir.Transactions;

/// <summary>
/// In-process queues for conditional operations on the same criteria: identical requests wait here, in memory,
/// for a bounded time instead of each holding a pooled database connection while it waits. Across server
/// processes the unit of work's advisory lock on the same key serialises them.
/// </summary>
public sealed class ConditionalLocks
{
    private readonly Dictionary<string, Gate> _gates = new(StringComparer.Ordinal);

    private sealed class Gate
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int Users;
    }

    public async Task<IAsyncDisposable> Acquire(IEnumerable<string> keys, TimeSpan timeout, CancellationToken ct)
    {
        var held = new Held(this);
        try
        {
            foreach (var key in keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)) // one order: no deadlocks
            {
                var gate = Enter(key);
                var entered = false;
                try { entered = await gate.Semaphore.WaitAsync(timeout, ct); }
                finally { if (!entered) Leave(key, release: false); }
                if (!entered)
                    throw FhirException.Busy($"Another request with the same conditional criteria ({key}) has been running for over {timeout.TotalSeconds:0} s; nothing was stored. Retry.");
                held.Keys.Add(key);
            }
            return held;
        }
        catch
        {
            await held.DisposeAsync();
            throw;
        }
    }

    private Gate Enter(string key)
    {
        lock (_gates)
        {
            if (!_gates.TryGetValue(key, out var gate)) _gates[key] = gate = new Gate();
            gate.Users++;
            return gate;
        }
    }

    private void Leave(string key, bool release)
    {
        lock (_gates)
        {
            var gate = _gates[key];
            if (release) gate.Semaphore.Release();
            if (--gate.Users == 0) _gates.Remove(key);
        }
    }

    private sealed class Held(ConditionalLocks owner) : IAsyncDisposable
    {
        public readonly List<string> Keys = [];

        public ValueTask DisposeAsync()
        {
            foreach (var key in Keys) owner.Leave(key, release: true);
            Keys.Clear();
            return ValueTask.CompletedTask;
        }
    }
}
