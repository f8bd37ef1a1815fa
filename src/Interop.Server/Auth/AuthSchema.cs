using Interop.Fhir.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Interop.Server.Auth;

/// <summary>
/// Creates the "auth" schema from the EF Core model (OpenIddict's tables and ours) when it is missing, as the
/// schema owner, and grants the server's role read and write on its rows. Runs where the FHIR migrations run
/// (`./interop.sh migrate`, or at start with Fhir:MigrateOnStart); a server that may not migrate requires it.
/// The model has one version so far: a change to it will need a numbered migration like the FHIR schema's.
/// </summary>
public sealed class AuthSchema(NpgsqlDataSource db, IServiceProvider services, StorageOptions options) : IHostedService
{
    private const long Lock = 4242002;

    public async Task StartAsync(CancellationToken ct)
    {
        if (!options.MigrateOnStart)
        {
            if (!await Exists(ct))
                throw new InvalidOperationException("The database has no auth schema: run ./interop.sh migrate (or start with Fhir:MigrateOnStart=true).");
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
        if (options.GrantTo is { Length: > 0 } role) await Migrations.Grant(db, role, ct, AuthDb.Schema);
    }

    private async Task<bool> Exists(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"select to_regclass('{AuthDb.Schema}.keys') is not null");
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task Exec(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
