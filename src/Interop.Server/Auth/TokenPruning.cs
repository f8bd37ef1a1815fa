using OpenIddict.Abstractions;

namespace Interop.Server.Auth;

/// <summary>
/// Every hour, removes the token and authorisation entries OpenIddict no longer needs (expired, or invalid, for
/// more than a day), so the auth schema does not grow without end (used client assertions are pruned as new ones
/// arrive, see ClientAssertions). Several instances may prune at once; the deletes are idempotent.
/// </summary>
public sealed class TokenPruning(IServiceProvider services, ILogger<TokenPruning> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        do
        {
            try
            {
                using var scope = services.CreateScope();
                var threshold = DateTimeOffset.UtcNow.AddDays(-1);
                var tokens = await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().PruneAsync(threshold, ct);
                var authorizations = await scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().PruneAsync(threshold, ct);
                if (tokens + authorizations > 0) log.LogInformation("Pruned {Tokens} tokens and {Authorizations} authorisations", tokens, authorizations);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning("Token pruning failed (next try in an hour): {Error}", e.Message);
            }
        } while (await timer.WaitForNextTickAsync(ct));
    }
}
