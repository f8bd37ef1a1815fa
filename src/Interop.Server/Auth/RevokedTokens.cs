using Microsoft.Extensions.Options;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// The ids of revoked tokens that have not yet expired, read again from auth."OpenIddictTokens" when the copy is
/// older than Auth:RevocationCacheSeconds: one query per interval for the whole server, not one per request, and a
/// token revoked on any instance is refused on all of them within that interval.
/// </summary>
public sealed class RevokedTokens(NpgsqlDataSource db, IOptions<AuthOptions> options)
{
    private volatile Snapshot _current = new([], DateTime.MinValue);
    private Task<Snapshot>? _refreshing;
    private readonly Lock _gate = new();

    private sealed record Snapshot(HashSet<string> Ids, DateTime Read);

    public async ValueTask<bool> Contains(string? tokenId, CancellationToken ct)
    {
        if (tokenId is null) return false;
        var snapshot = _current;
        if (DateTime.UtcNow - snapshot.Read > TimeSpan.FromSeconds(options.Value.RevocationCacheSeconds))
            snapshot = await Refresh().WaitAsync(ct);
        return snapshot.Ids.Contains(tokenId);
    }

    private Task<Snapshot> Refresh()
    {
        lock (_gate)
        {
            if (_refreshing is { IsCompleted: false } running) return running;
            return _refreshing = Read();
        }
    }

    private async Task<Snapshot> Read()
    {
        var started = DateTime.UtcNow;
        var ids = new HashSet<string>(StringComparer.Ordinal);
        await using var cmd = db.CreateCommand("""select "Id" from auth."OpenIddictTokens" where "Status" = 'revoked' and "ExpirationDate" > now()""");
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) ids.Add(reader.GetString(0));
        return _current = new Snapshot(ids, started);
    }
}
