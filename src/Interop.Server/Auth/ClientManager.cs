using System.ComponentModel.DataAnnotations;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;

namespace Interop.Server.Auth;

/// <summary>
/// OpenIddict's application manager, which insists that a confidential client has a secret or an inline JWKS: a
/// client registered by jwksUri has neither (its keys are fetched when it authenticates, by ClientAssertionKeys),
/// so that one rule is waived for it. Every other rule of OpenIddict's stays.
/// </summary>
public sealed class ClientManager(
    IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication> cache,
    ILogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store)
    : OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>(cache, logger, options, store)
{
    public override async IAsyncEnumerable<ValidationResult> ValidateAsync(
        OpenIddictEntityFrameworkCoreApplication application, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var byUri = (await Store.GetPropertiesAsync(application, cancellationToken)).ContainsKey(Clients.JwksUriProperty);
        await foreach (var result in base.ValidateAsync(application, cancellationToken))
            if (!(byUri && result.ErrorMessage?.StartsWith("The client secret cannot be null or empty for a confidential application", StringComparison.Ordinal) == true))
                yield return result;
    }
}
