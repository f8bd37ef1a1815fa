using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>
/// For a client registered by jwksUri, the keys its assertion is checked against come from that URL (RemoteJwks)
/// instead of OpenIddict's inline JWKS; everything else about the assertion (signature, algorithm, issuer, audience,
/// lifetime, the jti replay check) is checked exactly as for inline keys. A set that cannot be fetched, or that
/// lacks the assertion's kid even after a refetch, refuses the client with invalid_client.
/// </summary>
public sealed class ClientAssertionKeys(IOpenIddictApplicationManager apps, RemoteJwks remote, ILogger<ClientAssertionKeys> log)
    : IOpenIddictServerHandler<OpenIddictServerEvents.ValidateTokenContext>
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ValidateTokenContext>()
            .UseScopedHandler<ClientAssertionKeys>()
            .SetOrder(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters.Descriptor.Order + 2)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    public async ValueTask HandleAsync(OpenIddictServerEvents.ValidateTokenContext context)
    {
        if (context.ValidTokenTypes.Count != 1 || !context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion)) return;
        if (context.TokenValidationParameters is not { } parameters || Peek(context.Token) is not { } peeked) return; // malformed: OpenIddict refuses it
        var (issuer, kid) = peeked;
        var ct = context.CancellationToken;
        if (await apps.FindByClientIdAsync(issuer, ct) is not { } app) return;
        var properties = await apps.GetPropertiesAsync(app, ct);
        if (!properties.TryGetValue(Clients.JwksUriProperty, out var value) || value.GetString() is not { } uri) return;
        var answer = await remote.Keys(uri, kid, ct);
        if (answer.Set is null)
        {
            log.LogWarning("Client {ClientId}: assertion refused, its keys could not be fetched: {Problem}", issuer, answer.Problem);
            context.Reject(Errors.InvalidClient, $"The client's public keys could not be fetched from its jwksUri: {answer.Problem}");
            return;
        }
        if (!string.IsNullOrEmpty(kid) && !answer.Set.Keys.Any(k => k.Kid == kid))
        {
            log.LogWarning("Client {ClientId}: assertion refused, no key '{Kid}' at {JwksUri}", issuer, kid, uri);
            context.Reject(Errors.InvalidClient, $"The JWK Set at the client's jwksUri has no key '{kid}'.");
            return;
        }
        var keys = answer.Set.GetSigningKeys();
        parameters.IssuerSigningKeyResolver = (_, _, _, _) => keys;
    }

    // The (not yet validated) issuer and kid of the assertion; null when it is not a readable JWT.
    private static (string Issuer, string? Kid)? Peek(string? token)
    {
        try
        {
            var jwt = new JsonWebToken(token);
            return string.IsNullOrEmpty(jwt.Issuer) ? null : (jwt.Issuer, jwt.Kid);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
