using Interop.Fhir.Scopes;
using Interop.Fhir.Subscriptions;
using Microsoft.Extensions.Options;

namespace Interop.Server.Auth;

/// <summary>
/// The subscriber check against the client registry: the client that created the subscription must still be
/// registered and its allowed scopes must still grant search on the criteria's type (system/ or user/). Read for each
/// page of the change feed that holds a change of its type (one indexed lookup), so a removal takes effect at the next page.
/// </summary>
public sealed class ClientSubscriberCheck(IServiceProvider services, IOptions<AuthOptions> options) : ISubscriberCheck
{
    public async ValueTask<string?> Refusal(ActiveSubscription subscription, CancellationToken ct)
    {
        if (!options.Value.Enabled || subscription.Client is SubscriptionStatusWriter.Writer || subscription.Client.Length == 0)
            return null; // authorisation off (every caller unrestricted), or written by the server itself
        using var scope = services.CreateScope();
        var client = await scope.ServiceProvider.GetRequiredService<Clients>().Find(subscription.Client, ct);
        if (client is null)
            return $"The client '{subscription.Client}' that created this subscription is no longer registered: it hears of nothing.";
        var type = subscription.Criteria.Type;
        var allowed = Grants.Of(client.Scopes).For(type, Permission.Search).Any(s => s.Context is ScopeContext.System or ScopeContext.User);
        return allowed ? null
            : $"The client '{client.ClientId}' that created this subscription may no longer search {type} (its allowed scopes changed): it hears of nothing until they allow it again.";
    }
}
