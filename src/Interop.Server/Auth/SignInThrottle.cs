using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// Slows password guessing at /auth/authorize: after <see cref="AuthOptions.SignInMaxFailures"/> (5) failed sign-ins
/// for one username within <see cref="AuthOptions.SignInLockMinutes"/> (15) minutes of the first, that username cannot
/// sign in (even with the right password) until the minutes are over; a success before then clears the count.
/// The count lives in auth.sign_in_failures, so every instance on one database shares it (in memory, an attacker got
/// 5 guesses per instance), and the database's clock decides the window. Each attempt costs one statement, run after
/// the password check (which hashes whether or not the name exists, so a locked name costs no more than another).
/// </summary>
public sealed class SignInThrottle(NpgsqlDataSource db, IOptions<AuthOptions> options)
{
    public const string Table = AuthDb.Schema + ".sign_in_failures";

    /// <summary>
    /// One row per username with recent failures, keyed by the SHA-256 of the lower-cased name: fixed-size keys
    /// whatever is typed, and no plain text (people type passwords into the username field). Pruned by
    /// <see cref="SignInFailurePruning"/>.
    /// </summary>
    public const string Create = $"""
        create table if not exists {Table} (name_hash bytea primary key, failures int not null, since timestamptz not null);
        create index if not exists sign_in_failures_since on {Table} (since);
        """;

    /// <summary>
    /// Counts a failed sign-in (a count older than the window starts again); returns how much longer the name is
    /// locked if this attempt came after the limit was reached, else null.
    /// </summary>
    public async Task<TimeSpan?> Failed(string username, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            insert into {Table} as f (name_hash, failures, since) values ($1, 1, now())
            on conflict (name_hash) do update set
                failures = case when f.since <= now() - $2 then 1 else least(f.failures + 1, 1000000) end,
                since = case when f.since <= now() - $2 then now() else f.since end
            returning failures > $3, f.since + $2 - now()
            """);
        Parameters(cmd, username);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return reader.GetBoolean(0) ? reader.GetFieldValue<TimeSpan>(1) : null;
    }

    /// <summary>
    /// The right password: refused (returns how much longer) while the name is locked; otherwise its failures are
    /// forgotten. One statement either way.
    /// </summary>
    public async Task<TimeSpan?> Succeeded(string username, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            with locked as (
                select since + $2 - now() as remaining from {Table} where name_hash = $1 and failures >= $3 and since > now() - $2),
            cleared as (
                delete from {Table} where name_hash = $1 and not exists (select 1 from locked))
            select remaining from locked
            """);
        Parameters(cmd, username);
        var remaining = await cmd.ExecuteScalarAsync(ct);
        return remaining is TimeSpan wait ? wait : null;
    }

    /// <summary>The row's key: usernames are compared without case, as the in-memory throttle did.</summary>
    public static byte[] NameHash(string username) => SHA256.HashData(Encoding.UTF8.GetBytes(username.ToLowerInvariant()));

    private void Parameters(NpgsqlCommand cmd, string username)
    {
        cmd.Parameters.AddWithValue(NameHash(username));
        cmd.Parameters.AddWithValue(TimeSpan.FromMinutes(options.Value.SignInLockMinutes));
        cmd.Parameters.AddWithValue(options.Value.SignInMaxFailures);
    }
}
