using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Storage;
using Npgsql;

namespace Interop.Fhir.Subscriptions;

/// <summary>A Subscription being served, with who subscribed: the institution and client recorded on its current version.</summary>
public sealed record ActiveSubscription(string Id, Subscription Resource, SubscriptionCriteria Criteria, string Client, string? Institution)
{
    public bool Websocket => Resource.Channel.Type == Subscription.SubscriptionChannelType.Websocket;
}

/// <summary>A notification the dispatcher has matched: for a rest-hook a row in the queue, for a websocket a ping.</summary>
public sealed record Notification(ActiveSubscription Subscription, long Sequence, string ResourceKey, string? Payload);

/// <summary>
/// The dispatcher's own state in PostgreSQL (Storage/SubscriptionSchema): the subscriptions to serve, read from their
/// current versions like the validator reads its profiles (the server's configuration, not a resident's record); the
/// feed position; the queue of rest-hook deliveries. The position moves only from the value it was read at, in the
/// same transaction as the notifications it queues, so two dispatchers can never queue one change twice.
/// </summary>
public sealed class SubscriptionStore(NpgsqlDataSource db)
{
    private const string S = StorageSetup.Schema;
    public const string Cursor = "dispatcher";
    /// <summary>The channel websocket notifications are sent on (every server listens and pings its bound sockets).</summary>
    public const string Channel = "interop_subscription";

    /// <summary>The subscriptions with status active or error (both are served).</summary>
    public async Task<List<ActiveSubscription>> Served(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select data->>'Json', data->>'Writer', data->>'Institution' from {StorageSetup.CurrentTable} where resource_type = 'Subscription' and not deleted");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var served = new List<ActiveSubscription>();
        while (await reader.ReadAsync(ct))
        {
            if (FhirSerialization.ParseStored(reader.GetString(0)) is not Subscription s) continue;
            if (s.Status is not (Subscription.SubscriptionStatus.Active or Subscription.SubscriptionStatus.Error)) continue;
            served.Add(new ActiveSubscription(s.Id!, s, SubscriptionCriteria.Parse(s.Criteria), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        }
        return served;
    }

    /// <summary>The institution a live Subscription was written for; (false, null) when there is no such subscription.</summary>
    public async Task<(bool Exists, string? Institution)> Owner(string id, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select data->>'Institution' from {StorageSetup.CurrentTable} where id = $1 and not deleted");
        cmd.Parameters.AddWithValue("Subscription/" + id);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? (true, reader.IsDBNull(0) ? null : reader.GetString(0)) : (false, null);
    }

    /// <summary>The feed position; a dispatcher's first start begins at the feed's end (history is not notified).</summary>
    public async Task<long> Position(CancellationToken ct)
    {
        await using (var start = db.CreateCommand(
            $"insert into {S}.subscription_cursor (name, position) select $1, coalesce(max(seq_id), 0) from {S}.mt_events on conflict (name) do nothing"))
        {
            start.Parameters.AddWithValue(Cursor);
            await start.ExecuteNonQueryAsync(ct);
        }
        await using var cmd = db.CreateCommand($"select position from {S}.subscription_cursor where name = $1");
        cmd.Parameters.AddWithValue(Cursor);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Moves the position from <paramref name="from"/> to <paramref name="to"/> and queues the notifications; false when another dispatcher moved it first.</summary>
    public async Task<bool> Advance(long from, long to, IReadOnlyList<Notification> notifications, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await using (var move = new NpgsqlCommand($"update {S}.subscription_cursor set position = $3 where name = $1 and position = $2", connection, tx))
        {
            move.Parameters.AddWithValue(Cursor);
            move.Parameters.AddWithValue(from);
            move.Parameters.AddWithValue(to);
            if (await move.ExecuteNonQueryAsync(ct) != 1) return false;
        }
        foreach (var n in notifications)
        {
            await using var cmd = n.Subscription.Websocket
                ? new NpgsqlCommand("select pg_notify($1, $2)", connection, tx) { Parameters = { new() { Value = Channel }, new() { Value = n.Subscription.Id } } }
                : new NpgsqlCommand($"insert into {S}.subscription_delivery (subscription_id, sequence, resource_key, payload) values ($1, $2, $3, $4) on conflict do nothing", connection, tx)
                {
                    Parameters = { new() { Value = n.Subscription.Id }, new() { Value = n.Sequence }, new() { Value = n.ResourceKey }, new() { Value = (object?)n.Payload ?? DBNull.Value } },
                };
            await cmd.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return true;
    }
}
