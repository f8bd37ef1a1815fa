using Microsoft.Extensions.Options;

namespace Interop.Server.Auth;

/// <summary>
/// When INTEROP_ADMIN_SECRET (Auth:AdminSecret) is set at start, the confidential client "admin" exists with that
/// secret (created, or its secret replaced), every system scope and the admin role.
/// </summary>
public sealed class AdminBootstrap(IServiceProvider services, IOptions<AuthOptions> options, ILogger<AdminBootstrap> log) : IHostedService
{
    public const string ClientId = "admin";

    public async Task StartAsync(CancellationToken ct)
    {
        if (options.Value.AdminSecret is not { Length: > 0 } secret) return;
        await Clients.Ensure(services, new ClientRegistration(ClientId, "confidential", secret, null, null, [],
            "system/*.cruds", null, ["admin"]), ct);
        log.LogInformation("Client 'admin' ready (secret from INTEROP_ADMIN_SECRET)");
    }

    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
}
