using Npgsql;

namespace Interop.Fhir.Transactions;

/// <summary>
/// PostgreSQL advisory locks that serialise conditional operations on the same criteria (across connections
/// and server processes): a conditional create searches and inserts while holding the lock, so two identical
/// requests at once produce exactly one resource. Held on a dedicated connection until disposed, after the
/// write has committed.
/// </summary>
public sealed class ConditionalLocks : IAsyncDisposable
{
    private const int Namespace = 4242002;
    private NpgsqlConnection? _connection;

    private ConditionalLocks() { }

    public static async Task<ConditionalLocks> Acquire(NpgsqlDataSource db, IEnumerable<string> keys, CancellationToken ct)
    {
        var locks = new ConditionalLocks();
        var ordered = keys.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(); // one order: no deadlocks
        if (ordered.Length == 0) return locks;
        locks._connection = await db.OpenConnectionAsync(ct);
        await using var cmd = new NpgsqlCommand("select pg_advisory_lock($1, hashtext(k)) from unnest($2::text[]) with ordinality as t(k, n) order by n", locks._connection);
        cmd.Parameters.AddWithValue(Namespace);
        cmd.Parameters.AddWithValue(ordered);
        await cmd.ExecuteNonQueryAsync(ct);
        return locks;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is null) return;
        try
        {
            await using var cmd = new NpgsqlCommand("select pg_advisory_unlock_all()", _connection);
            await cmd.ExecuteNonQueryAsync();
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
