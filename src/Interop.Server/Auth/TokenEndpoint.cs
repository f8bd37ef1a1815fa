using Interop.Fhir.Scopes;
using Interop.Server.Rest;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>
/// POST /auth/token after OpenIddict has authenticated the client and checked the grant (PKCE, redirect URI, code
/// and refresh token lifetimes, rotation): issues the access token with the granted scopes, and answers the
/// granted <c>scope</c> and the launch <c>patient</c> beside it (SMART App Launch).
/// </summary>
public static class TokenEndpoint
{
    private static readonly IReadOnlySet<ScopeContext> SystemOnly = new HashSet<ScopeContext> { ScopeContext.System };

    public static async Task<IResult> Handle(HttpContext http, Clients clients, Users users, AuthDb db, IOptions<FhirOptions> fhir, CancellationToken ct)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        if (!await ClientAssertions.FirstUse(db, request, ct))
            return Refuse(Errors.InvalidClient, "The client assertion was used before (its jti has been seen) or has no jti: sign a new one for each request.");
        if (request.IsClientCredentialsGrantType())
        {
            var client = await clients.Find(request.ClientId!, ct);
            if (client is null) return Refuse(Errors.InvalidClient, "The client is not registered.");
            var granted = Tokens.Grant(request.GetScopes(), client.Scopes, SystemOnly);
            if (granted.Count == 0)
                return Refuse(Errors.InvalidScope, $"None of the requested scopes is allowed for client '{client.ClientId}' with client credentials (system/ scopes only); it may have: {string.Join(' ', client.Scopes)}.");
            var principal = Tokens.Principal(client.ClientId, client.ClientId, granted, fhir.Value.BaseUrl!, null, null, client.Institution, client.Roles);
            return Issue(http, principal);
        }
        if (request.IsAuthorizationCodeGrantType() || request.IsRefreshTokenGrantType())
        {
            // The principal stored with the code or refresh token, as it was approved at /auth/authorize.
            var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
            if (result.Principal is not { } principal) return Refuse(Errors.InvalidGrant, "The code or refresh token is no longer valid.");
            if (principal.GetClaim(Claims.Subject) is not { } subject || await users.Find(subject, ct) is null)
                return Refuse(Errors.InvalidGrant, "The user this grant was given to no longer exists.");
            principal.SetDestinations(Tokens.Destinations);
            Tokens.RenewOnline(principal);
            return Issue(http, principal);
        }
        return Refuse(Errors.UnsupportedGrantType, "Supported grant types: authorization_code, refresh_token, client_credentials.");
    }

    /// <summary>Where the granted scope waits for the answer (OpenIddict writes its own `scope`; ScopeAnswer puts ours back).</summary>
    public const string ScopeItem = "interop.granted-scope";

    private static IResult Issue(HttpContext http, System.Security.Claims.ClaimsPrincipal principal)
    {
        var properties = new AuthenticationProperties();
        http.Items[ScopeItem] = properties.Parameters["scope"] = string.Join(' ', Tokens.Granted(principal));
        if (principal.GetClaim(Tokens.Patient) is { } patient) properties.Parameters["patient"] = patient;
        if (principal.GetClaim(Tokens.Encounter) is { } encounter) properties.Parameters["encounter"] = encounter;
        return Results.SignIn(principal, properties, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>Answers the granted scope as the client asked for it (online_access without its offline_access carrier).</summary>
    public static OpenIddict.Server.OpenIddictServerHandlerDescriptor ScopeAnswer { get; } =
        OpenIddict.Server.OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddict.Server.OpenIddictServerEvents.ApplyTokenResponseContext>()
            .UseInlineHandler(context =>
            {
                if (context.Transaction.GetHttpRequest()?.HttpContext.Items[ScopeItem] is string scope && context.Response.AccessToken is not null)
                    context.Response.Scope = scope;
                return default;
            })
            .SetOrder(int.MinValue + 100_000) // before the answer is written
            .SetType(OpenIddict.Server.OpenIddictServerHandlerType.Custom)
            .Build();

    internal static IResult Refuse(string error, string description) =>
        Results.Forbid(new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
