using Marten;
using Marten.Services;
using Npgsql;

namespace Interop.Fhir.Storage;

/// <summary>
/// One connection and one database transaction for a whole interaction that reads, searches, locks and writes
/// (a transaction or batch entry, a conditional operation): everything runs on this connection, so the work never
/// needs a second pooled connection while it holds one, and every lock it takes is transaction-scoped, released by
/// the commit or by the rollback on any failure path (dispose). Lock waits are bounded by lock_timeout.
/// </summary>
public sealed class UnitOfWork : IAsyncDisposable
{
    /// <summary>Advisory lock namespaces: conditional criteria, and the resource keys a transaction writes.</summary>
    public const int CriteriaLocks = 4242002, KeyLocks = 4242003;

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private bool _done;

    private UnitOfWork(NpgsqlConnection connection, NpgsqlTransaction transaction) =>
        (_connection, _transaction) = (connection, transaction);

    public NpgsqlConnection Connection => _connection;

    public static async Task<UnitOfWork> Begin(NpgsqlDataSource db, StorageOptions options, CancellationToken ct)
    {
        var connection = await db.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            // Searches inside the unit (conditional matches) plan with their actual values, as on the search pool.
            await using var cmd = new NpgsqlCommand(
                $"set local lock_timeout = '{options.LockTimeoutSeconds}s'; set local plan_cache_mode = force_custom_plan", connection);
            await cmd.ExecuteNonQueryAsync(ct);
            return new UnitOfWork(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Takes transaction-scoped advisory locks on <paramref name="keys"/>, in one sorted order (no lock-order deadlocks).</summary>
    public async Task Lock(int space, IEnumerable<string> keys, CancellationToken ct)
    {
        // Hashed here, so no client text reaches the database; sorted by hash, the order every caller uses.
        var ordered = keys.Select(Hash).Distinct().Order().ToArray();
        if (ordered.Length == 0) return;
        await using var cmd = new NpgsqlCommand(
            "select pg_advisory_xact_lock($1, k) from unnest($2::int[]) with ordinality as t(k, n) order by n", _connection);
        cmd.Parameters.AddWithValue(space);
        cmd.Parameters.AddWithValue(ordered);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static int Hash(string key) =>
        BitConverter.ToInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)), 0);

    /// <summary>A Marten session whose SaveChanges runs in this transaction without committing it.</summary>
    public WriteBatch Batch(IDocumentStore store, Indexing.SearchParams known) => new(store.LightweightSession(SessionOptions.ForTransaction(_transaction)), known);

    public async Task Commit(CancellationToken ct)
    {
        await _transaction.CommitAsync(ct);
        _done = true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_done)
            {
                await _transaction.RollbackAsync();
                // A statement that failed inside a transaction can leave Npgsql's auto-prepared statements on this
                // connection out of step with the server (npgsql/npgsql#6391: the next user of the pooled connection
                // reads "unexpected DataRow"). Dropping them before the connection goes back to the pool avoids it.
                _connection.UnprepareAll();
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // A broken connection: Npgsql does not return it to the pool.
        }
        finally
        {
            await _transaction.DisposeAsync();
            await _connection.DisposeAsync();
        }
    }
}
