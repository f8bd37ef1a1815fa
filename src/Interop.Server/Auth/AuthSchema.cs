using Interop.Fhir.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// Creates the "auth" schema from the EF Core model (OpenIddict's tables and ours) when it is missing, as the
/// schema owner, and grants the server's role read and write on its rows. Runs where the FHIR migrations run
/// (`./interop.sh migrate`, or at start with Fhir:MigrateOnStart); a server that may not migrate requires it.
/// Tables outside the EF model are added by <see cref="Additions"/>, idempotent statements run at each migration
/// (a change to the EF model itself will need a numbered migration like the FHIR schema's).
/// </summary>
public sealed class AuthSchema(NpgsqlDataSource db, IServiceProvider services, StorageOptions options) : IHostedService
{
    private const long Lock = 4242002;

    /// <summary>EHR launch contexts (SMART launch-ehr): made by the EHR, redeemed once at /auth/authorize.</summary>
    public const string Additions = $"""
        create table if not exists {AuthDb.Schema}.launch_contexts (
            id text primary key, client_id text not null, patient text not null, encounter text, expires timestamptz not null);
        {DataProtectionKeys.Create}
        {SignInThrottle.Create}
        """;

    public async Task StartAsync(CancellationToken ct)
    {
        if (!options.MigrateOnStart)
        {
            if (!await Exists(ct) || !await Exists(ct, "launch_contexts") || !await Exists(ct, "data_protection_keys")
                || !await Exists(ct, "sign_in_failures"))
                throw new InvalidOperationException("The database's auth schema is missing or behind: run ./interop.sh migrate (or start with Fhir:MigrateOnStart=true).");
            return;
        }
        if (!await Exists(ct))
        {
            await using var connection = await db.OpenConnectionAsync(ct);
            await Exec(connection, $"select pg_advisory_lock({Lock})", ct);
            try
            {
                if (!await Exists(ct))
                {
                    using var scope = services.CreateScope();
                    var script = scope.ServiceProvider.GetRequiredService<AuthDb>().Database.GenerateCreateScript();
                    await using var tx = await connection.BeginTransactionAsync(ct);
                    await Exec(connection, script, ct);
                    await tx.CommitAsync(ct);
                }
            }
            finally
            {
                await Exec(connection, $"select pg_advisory_unlock({Lock})", CancellationToken.None);
            }
        }
        await using (var cmd = db.CreateCommand(Additions)) await cmd.ExecuteNonQueryAsync(ct);
        if (options.GrantTo is { Length: > 0 } role) await Migrations.Grant(db, role, ct, AuthDb.Schema);
    }

    private async Task<bool> Exists(CancellationToken ct, string table = "keys")
    {
        await using var cmd = db.CreateCommand($"select to_regclass('{AuthDb.Schema}.{table}') is not null");
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task Exec(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
