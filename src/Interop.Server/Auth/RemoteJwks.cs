using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Interop.Server.Auth;

/// <summary>
/// The JWK Sets of clients registered by jwksUri (SMART Backend Services), fetched when an assertion is checked:
/// with a short timeout, a size limit and no redirects; kept for the answer's Cache-Control max-age (between a
/// minute and a day) or a default; fetched again early when an assertion names a kid the set lacks (the client
/// rotated its keys), but at most once per interval per URL, and one fetch at a time, so assertions with made-up
/// kids cannot make the server hammer the client's host. A failed fetch keeps a still-fresh set.
/// </summary>
public sealed class RemoteJwks(IOptions<AuthOptions> options, ILogger<RemoteJwks> log)
{
    public sealed record Answer(JsonWebKeySet? Set, string? Problem);

    private static readonly TimeSpan MinAge = TimeSpan.FromMinutes(1), MaxAge = TimeSpan.FromDays(1);

    private sealed class Entry
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public JsonWebKeySet? Set;
        public DateTimeOffset Expires, LastAttempt = DateTimeOffset.MinValue;
        public string? Problem;
        public bool Fresh(DateTimeOffset now) => Set is not null && now < Expires;
        public bool Covers(string? kid) => string.IsNullOrEmpty(kid) || Set!.Keys.Any(k => k.Kid == kid);
    }

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false, // the registered URL, not wherever it points to
        ConnectTimeout = TimeSpan.FromSeconds(options.Value.JwksFetchSeconds),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    })
    {
        Timeout = TimeSpan.FromSeconds(options.Value.JwksFetchSeconds),
        MaxResponseContentBufferSize = options.Value.JwksMaxBytes,
    };

    /// <summary>The set at <paramref name="uri"/> for an assertion naming <paramref name="kid"/>, or why there is none.</summary>
    public async Task<Answer> Keys(string uri, string? kid, CancellationToken ct)
    {
        var entry = _entries.GetOrAdd(uri, _ => new Entry());
        if (entry.Fresh(DateTimeOffset.UtcNow) && entry.Covers(kid)) return new(entry.Set, null);
        await entry.Gate.WaitAsync(ct);
        try
        {
            var now = DateTimeOffset.UtcNow;
            if (entry.Fresh(now) && entry.Covers(kid)) return new(entry.Set, null); // fetched while this one waited
            if (now - entry.LastAttempt >= TimeSpan.FromSeconds(options.Value.JwksRefetchSeconds))
            {
                entry.LastAttempt = now;
                var (set, age, problem) = await Fetch(uri, ct);
                if (set is not null) (entry.Set, entry.Expires, entry.Problem) = (set, now + age, null);
                else
                {
                    entry.Problem = problem;
                    log.LogWarning("The JWK Set at {JwksUri} could not be fetched: {Problem}", uri, problem);
                }
            }
            return entry.Fresh(DateTimeOffset.UtcNow) ? new(entry.Set, null) : new(null, entry.Problem ?? "the set has expired.");
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private async Task<(JsonWebKeySet? Set, TimeSpan Age, string? Problem)> Fetch(string uri, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Accept.ParseAdd("application/jwk-set+json, application/json");
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
            if (!response.IsSuccessStatusCode) return (null, default, $"{uri} answered {(int)response.StatusCode}.");
            var text = await response.Content.ReadAsStringAsync(ct);
            JsonWebKeySet set;
            try
            {
                set = new JsonWebKeySet(text);
            }
            catch (ArgumentException)
            {
                return (null, default, $"the answer of {uri} is not a JSON Web Key Set.");
            }
            if (ClientKeys.Problem(set) is { } problem) return (null, default, $"the JWK Set at {uri} is not usable: {problem}");
            var cache = response.Headers.CacheControl;
            var age = cache is { NoStore: true } or { NoCache: true } ? MinAge
                : cache?.MaxAge is { } maxAge ? TimeSpan.FromTicks(Math.Clamp(maxAge.Ticks, MinAge.Ticks, MaxAge.Ticks))
                : TimeSpan.FromSeconds(options.Value.JwksCacheSeconds);
            return (set, age, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, default, $"{uri} did not answer within {options.Value.JwksFetchSeconds} s.");
        }
        catch (HttpRequestException e)
        {
            // Also an answer over the size limit ("Cannot write more bytes to the buffer than the configured maximum").
            return (null, default, $"{uri} could not be read: {e.Message}");
        }
    }
}
