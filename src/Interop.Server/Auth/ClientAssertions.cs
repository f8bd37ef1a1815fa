using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>
/// SMART Backend Services client authentication (private_key_jwt): OpenIddict checks the assertion's signature
/// against the client's registered JWKS, its issuer, subject and lifetime. SMART clients send <c>typ: JWT</c> and
/// the token endpoint's URL as audience, where OpenIddict expects <c>client-authentication+jwt</c> and the issuer:
/// both are accepted here. A <c>jti</c> is accepted once (auth.used_assertions, until the assertion expires).
/// </summary>
public static class ClientAssertions
{
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } =
        OpenIddictServerHandlerDescriptor.CreateBuilder<OpenIddictServerEvents.ValidateTokenContext>()
            .UseInlineHandler(context =>
            {
                if (context.ValidTokenTypes.Count == 1 && context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion))
                {
                    var inner = context.TokenValidationParameters.TypeValidator;
                    context.TokenValidationParameters.TypeValidator = (type, token, parameters) =>
                        string.IsNullOrEmpty(type) || string.Equals(type, "JWT", StringComparison.OrdinalIgnoreCase)
                            ? JsonWebTokenTypes.ClientAuthentication
                            : inner(type, token, parameters);
                    var issuer = context.Options.Issuer ?? context.BaseUri!;
                    context.ValidAudiences.Add(new Uri(issuer, "auth/token").AbsoluteUri);
                }
                return default;
            })
            .SetOrder(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

    /// <summary>
    /// Records the (already validated) assertion's jti; false when it was used before. Expired entries are pruned
    /// on the way.
    /// </summary>
    public static async Task<bool> FirstUse(AuthDb db, OpenIddictRequest request, CancellationToken ct)
    {
        if (request.ClientAssertion is not { } assertion) return true;
        var token = new JsonWebToken(assertion);
        var jti = token.Id;
        if (string.IsNullOrEmpty(jti)) return false; // SMART requires one
        var expires = token.ValidTo == DateTime.MinValue ? DateTimeOffset.UtcNow.AddMinutes(5) : new DateTimeOffset(token.ValidTo, TimeSpan.Zero);
        await db.UsedAssertions.Where(a => a.Expires < DateTimeOffset.UtcNow).ExecuteDeleteAsync(ct);
        var key = $"{request.ClientId} {jti}";
        return await db.Database.ExecuteSqlAsync(
            $"insert into auth.used_assertions (\"Key\", \"Expires\") values ({key}, {expires}) on conflict do nothing", ct) == 1;
    }
}
