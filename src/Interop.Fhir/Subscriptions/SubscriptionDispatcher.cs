using Interop.Fhir.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Status = Hl7.Fhir.Model.Subscription.SubscriptionStatus;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// Serves the subscriptions, off the request path. One server among those sharing the database leads (it holds a
/// session advisory lock; the others try again every few seconds). The leader reads the change feed from the position
/// kept in PostgreSQL every Subscriptions:PollMilliseconds, matches each change against the subscriptions it keeps in
/// memory (reloaded whenever a Subscription changes in the feed), and queues the notifications in the same
/// transaction that moves the position (websockets: a pg_notify at commit). A second loop sends the queued rest-hook
/// notifications, retrying with doubling waits; after Subscriptions:ErrorAfterFailures failed attempts the
/// Subscription shows status error, and a success makes it active again. Given-up notifications are purged after
/// Subscriptions:FailedRetentionDays (checked hourly).
/// </summary>
public sealed class SubscriptionDispatcher(
    NpgsqlDataSource db, ChangeFeed feed, SubscriptionStore store, DeliveryQueue queue, SubscriptionMatcher matcher,
    RestHookSender sender, SubscriptionStatusWriter status, DeliveryLog deliveries, SubscriptionOptions options,
    ILogger<SubscriptionDispatcher> log) : BackgroundService
{
    private const long LeaderLock = 4242013;
    private const int PageSize = 500;
    private readonly SemaphoreSlim _queued = new(0);
    private volatile IReadOnlyList<ActiveSubscription> _served = [];

    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        if (!options.Enabled) return;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenConnectionAsync(ct);
                if (await Scalar(connection, $"select pg_try_advisory_lock({LeaderLock})", ct))
                {
                    try { await Lead(connection, ct); }
                    finally
                    {
                        // A pooled session keeps its locks: give it back without the leadership.
                        if (connection.State == System.Data.ConnectionState.Open) await Scalar(connection, $"select pg_advisory_unlock({LeaderLock})", CancellationToken.None);
                    }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                log.LogWarning(e, "The subscription dispatcher stopped; it starts again in 5 s");
            }
            try { await Task.Delay(TimeSpan.FromSeconds(5), ct); } catch (OperationCanceledException) { return; }
        }
    }

    // Leads until stopped or until a loop fails (the lock's session checked every 5 s).
    private async Task Lead(NpgsqlConnection connection, CancellationToken ct)
    {
        log.LogInformation("This server dispatches the subscriptions");
        using var lost = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task[] loops = [Match(lost.Token), Deliver(lost.Token), Hold(connection, lost.Token)];
        var first = await Task.WhenAny(loops);
        await lost.CancelAsync();
        try { await Task.WhenAll(loops); }
        catch (OperationCanceledException) when (ct.IsCancellationRequested || first.IsFaulted) { }
        await first; // rethrows the failure that ended leadership
    }

    private static async Task Hold(NpgsqlConnection connection, CancellationToken ct)
    {
        while (true)
        {
            await Task.Delay(TimeSpan.FromSeconds(5), ct);
            await Scalar(connection, "select true", ct);
        }
    }

    private async Task Match(CancellationToken ct)
    {
        var position = await store.Position(ct);
        _served = await store.Served(ct);
        while (true)
        {
            var page = await feed.Read(position, PageSize, ct);
            if (page.Last == position)
            {
                await Task.Delay(options.PollMilliseconds, ct);
                continue;
            }
            var notifications = new List<Notification>();
            var refusals = new Dictionary<string, string?>(); // the subscriber checks of this page
            foreach (var change in page.Changes)
            {
                if (change.Version.ResourceType == "Subscription")
                {
                    _served = await store.Served(ct);
                    refusals.Remove(change.Version.Id);
                    if (!_served.Any(s => s.Id == change.Version.Id)) await queue.Drop(change.Version.Id, ct);
                    continue;
                }
                notifications.AddRange(await matcher.Match(change, _served, refusals, ct));
            }
            if (!await store.Advance(position, page.Last, notifications, ct))
            {
                log.LogWarning("Another dispatcher moved the subscription feed position; continuing from there");
                position = await store.Position(ct);
                continue;
            }
            position = page.Last;
            if (notifications.Any(n => !n.Subscription.Websocket)) _queued.Release();
        }
    }

    // Each delivery runs on its own (up to InFlight at once): a subscriber that hangs until the timeout holds only its
    // own deliveries, never a fresh notification for another subscriber claimed after it.
    private const int InFlight = 32;

    private async Task Deliver(CancellationToken ct)
    {
        var lease = TimeSpan.FromSeconds(options.TimeoutSeconds + 5);
        var purged = DateTime.MinValue;
        var sending = new List<Task>();
        Task<bool>? signal = null;
        while (true)
        {
            if (DateTime.UtcNow - purged > TimeSpan.FromHours(1))
            {
                purged = DateTime.UtcNow;
                if (await queue.Purge(TimeSpan.FromDays(options.FailedRetentionDays), ct) is > 0 and var n)
                    log.LogInformation("Purged {Count} given-up subscription notifications older than {Days} days", n, options.FailedRetentionDays);
            }
            foreach (var done in sending.Where(t => t.IsCompleted).ToList())
            {
                sending.Remove(done);
                await done; // a failure ends leadership, as before
            }
            var claimed = sending.Count < InFlight ? await queue.Claim(InFlight - sending.Count, lease, ct) : [];
            sending.AddRange(claimed.Select(d => Send(d, ct)));
            if (claimed.Count > 0 && sending.Count < InFlight) continue; // there may be more due
            // Wait for a new notification, a send to finish, or 250 ms (retries fall due without a signal).
            signal ??= _queued.WaitAsync(TimeSpan.FromMilliseconds(250), ct);
            await Task.WhenAny([signal, .. sending]);
            if (signal.IsCompleted) { await signal; signal = null; }
        }
    }

    private async Task Send(Delivery delivery, CancellationToken ct)
    {
        if (_served.FirstOrDefault(s => s.Id == delivery.SubscriptionId) is not { } subscription)
        {
            await queue.Done(delivery.Id, ct); // switched off or deleted since it was queued
            return;
        }
        var started = DateTimeOffset.UtcNow;
        var error = await sender.Send(subscription, delivery, ct);
        await deliveries.Record(subscription, delivery, error, DateTimeOffset.UtcNow - started, ct);
        if (error is null)
        {
            await queue.Done(delivery.Id, ct);
            if (subscription.Resource.Status == Status.Error || delivery.Attempt > options.ErrorAfterFailures)
                await status.Set(subscription, Status.Active, null, ct);
            return;
        }
        var giveUp = delivery.Attempt >= options.MaxAttempts;
        await queue.Failed(delivery.Id, error, giveUp ? null : options.Backoff(delivery.Attempt), ct);
        if (delivery.Attempt >= options.ErrorAfterFailures)
            await status.Set(subscription, Status.Error, giveUp ? $"Given up after {delivery.Attempt} attempts: {error}" : error, ct);
    }

    private static async Task<bool> Scalar(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
