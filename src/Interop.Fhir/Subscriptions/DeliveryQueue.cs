using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Subscriptions;

/// <summary>A queued rest-hook notification, claimed for one attempt.</summary>
public sealed record Delivery(long Id, string SubscriptionId, long Sequence, string ResourceKey, string? Payload, int Attempt);

/// <summary>
/// The rest-hook queue (fhir.subscription_delivery). A claim takes due rows with <c>for update skip locked</c> and
/// leases them (their due time moves past the attempt's timeout), so two dispatchers never send one notification at
/// once and a dispatcher that stops mid-attempt leaves the row to be tried again when the lease ends.
/// </summary>
public sealed class DeliveryQueue(NpgsqlDataSource db)
{
    private const string S = StorageSetup.Schema;

    public async Task<List<Delivery>> Claim(int limit, TimeSpan lease, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            update {S}.subscription_delivery d set attempts = d.attempts + 1, due = now() + $2
            where d.id in (select id from {S}.subscription_delivery where not failed and due <= now() order by id limit $1 for update skip locked)
            returning d.id, d.subscription_id, d.sequence, d.resource_key, d.payload, d.attempts
            """);
        cmd.Parameters.AddWithValue(limit);
        cmd.Parameters.AddWithValue(lease);
        var claimed = new List<Delivery>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            claimed.Add(new Delivery(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5)));
        return claimed.OrderBy(d => d.Id).ToList();
    }

    /// <summary>Delivered: the row goes.</summary>
    public async Task Done(long id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"delete from {S}.subscription_delivery where id = $1");
        cmd.Parameters.AddWithValue(id);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>An attempt failed: tried again after <paramref name="retryIn"/>, or, with null, given up (kept, marked failed).</summary>
    public async Task Failed(long id, string error, TimeSpan? retryIn, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            $"update {S}.subscription_delivery set last_error = $2, failed = $3, due = now() + $4 where id = $1");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(error);
        cmd.Parameters.AddWithValue(retryIn is null);
        cmd.Parameters.AddWithValue(retryIn ?? TimeSpan.Zero);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Given-up notifications older than <paramref name="keep"/> are removed; answers how many.</summary>
    public async Task<int> Purge(TimeSpan keep, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"delete from {S}.subscription_delivery where failed and due < now() - $1");
        cmd.Parameters.AddWithValue(keep);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Notifications of a subscription that was deleted or switched off are dropped.</summary>
    public async Task Drop(string subscriptionId, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"delete from {S}.subscription_delivery where subscription_id = $1 and not failed");
        cmd.Parameters.AddWithValue(subscriptionId);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
