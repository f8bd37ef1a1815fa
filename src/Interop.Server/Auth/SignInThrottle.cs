using System.Collections.Concurrent;

namespace Interop.Server.Auth;

/// <summary>
/// Slows password guessing at /auth/authorize: after 5 failed sign-ins for one username within 15 minutes, that
/// username cannot sign in (even with the right password) until 15 minutes after the first failure. Kept per
/// server instance, in memory: with several instances an attacker gets 5 tries per instance per window.
/// </summary>
public sealed class SignInThrottle
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private sealed record Failures(int Count, DateTimeOffset Since);

    private readonly ConcurrentDictionary<string, Failures> _failures = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the username is locked out now; if so, for how much longer.</summary>
    public bool Locked(string username, out TimeSpan remaining)
    {
        remaining = TimeSpan.Zero;
        if (!_failures.TryGetValue(username, out var f)) return false;
        var until = f.Since + Window;
        if (until <= DateTimeOffset.UtcNow)
        {
            _failures.TryRemove(username, out _);
            return false;
        }
        remaining = until - DateTimeOffset.UtcNow;
        return f.Count >= MaxFailures;
    }

    public void Failed(string username)
    {
        if (_failures.Count > 100_000) _failures.Clear(); // bounded: a flood of made-up names does not grow it without end
        _failures.AddOrUpdate(username, _ => new Failures(1, DateTimeOffset.UtcNow),
            (_, f) => f.Since + Window <= DateTimeOffset.UtcNow ? new Failures(1, DateTimeOffset.UtcNow) : f with { Count = f.Count + 1 });
    }

    public void Succeeded(string username) => _failures.TryRemove(username, out _);
}
