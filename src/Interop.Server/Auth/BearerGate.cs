using System.Security.Claims;
using Interop.Fhir.Pipeline;
using Interop.Server.Rest;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>
/// For /fhir, /admin and /auth/launch: reads the bearer token (a signed JWT, checked in memory: signature, issuer, audience,
/// lifetime) — once per token: a verified token is remembered until it expires (VerifiedTokens) — refuses a
/// revoked one, and leaves the pipeline its caller. A request without a token goes on as an
/// anonymous caller (the pipeline's authorise stage answers 401 where a token is needed, so metadata and the
/// SMART configuration stay open); one with a bad token records why, for the 401's WWW-Authenticate.
/// </summary>
public sealed class BearerGate(RequestDelegate next, IOptions<AuthOptions> options, RevokedTokens revoked, VerifiedTokens tokens)
{
    public async Task InvokeAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path;
        if (!path.StartsWithSegments("/fhir") && !path.StartsWithSegments("/admin") && !path.StartsWithSegments("/auth/launch"))
        {
            await next(ctx);
            return;
        }
        if (!options.Value.Enabled)
        {
            var label = ctx.Request.Headers[FhirHttp.WriterHeader].ToString();
            FhirHttp.SetCaller(ctx, Caller.System(label is { Length: > 0 and <= 64 } ? label : "anonymous"));
        }
        else if (ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } authorization)
        {
            var verified = tokens.Find(authorization);
            if (verified is null)
            {
                // OpenIddict's validation prepares its request state in its request handler, which the
                // authentication middleware would run for every request; here it runs only for a token not yet verified.
                var handlers = ctx.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
                if (await handlers.GetHandlerAsync(ctx, AuthSetup.BearerScheme) is IAuthenticationRequestHandler handler && await handler.HandleRequestAsync())
                    return;
                var result = await ctx.AuthenticateAsync(AuthSetup.BearerScheme);
                if (result.Succeeded && result.Principal is { } principal)
                    verified = tokens.Add(authorization, principal, From(principal));
                else
                    ctx.Items[FhirHttp.AuthFailureKey] = result.Properties?.GetString(OpenIddictValidationAspNetCoreConstants.Properties.ErrorDescription)
                                                        ?? result.Failure?.Message ?? "The access token is not valid.";
            }
            if (verified is not null)
            {
                if (await revoked.Contains(verified.TokenId, ctx.RequestAborted))
                    ctx.Items[FhirHttp.AuthFailureKey] = "The access token has been revoked.";
                else
                {
                    ctx.User = verified.Principal;
                    FhirHttp.SetCaller(ctx, verified.Caller);
                }
            }
        }
        await next(ctx);
    }

    /// <summary>The pipeline's caller from a validated access token.</summary>
    public static Caller From(ClaimsPrincipal principal)
    {
        var subject = principal.GetClaim(Claims.Subject)!;
        var client = principal.GetClaim("azp") ?? principal.GetClaim(Claims.ClientId) ?? subject;
        var fhirUser = principal.GetClaim(Tokens.FhirUser);
        return new Caller(client, fhirUser is null ? null : subject, principal.GetClaim(Tokens.Institution),
            principal.GetScopes().ToHashSet(), true)
        {
            Patient = principal.GetClaim(Tokens.Patient),
            FhirUser = fhirUser,
            Roles = principal.GetClaims(Claims.Role).ToHashSet(),
        };
    }
}
