using Microsoft.Extensions.Options;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// Keeps auth.sign_in_failures small: every minute, removes the counts whose window is over, then, if a flood of
/// made-up usernames left more than <see cref="AuthOptions.SignInFailureCap"/> rows, the oldest beyond the cap
/// (those nearest their end). Evicting a count forgives its failures, so the cap is set far above what real
/// sign-ins make: an attacker would need that many failed sign-ins within one window to buy one more round of
/// guesses. Several instances may prune at once; the deletes are idempotent.
/// </summary>
public sealed class SignInFailurePruning(NpgsqlDataSource db, IOptions<AuthOptions> options, ILogger<SignInFailurePruning> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1));
        while (await timer.WaitForNextTickAsync(ct))
        {
            try
            {
                var pruned = await Prune(db, options.Value, ct);
                if (pruned > 0) log.LogInformation("Pruned {Rows} sign-in failure counts", pruned);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning("Pruning sign-in failure counts failed (next try in a minute): {Error}", e.Message);
            }
        }
    }

    /// <summary>Removes expired counts and those beyond the cap; returns how many.</summary>
    public static async Task<int> Prune(NpgsqlDataSource db, AuthOptions options, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            with expired as (
                delete from {SignInThrottle.Table} where since <= now() - $1 returning 1),
            beyond as (
                delete from {SignInThrottle.Table} where name_hash in (
                    select name_hash from {SignInThrottle.Table} where since > now() - $1 order by since desc offset $2)
                returning 1)
            select (select count(*) from expired) + (select count(*) from beyond)
            """);
        cmd.Parameters.AddWithValue(TimeSpan.FromMinutes(options.SignInLockMinutes));
        cmd.Parameters.AddWithValue((long)options.SignInFailureCap);
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct));
    }
}
