using System.Security.Claims;
using Interop.Fhir.Scopes;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Interop.Server.Auth;

/// <summary>The claims an access token carries, and which scopes a client or user may be given.</summary>
public static class Tokens
{
    public const string Patient = "patient";
    public const string Encounter = "encounter";
    public const string FhirUser = "fhirUser";
    public const string Institution = "institution";
    public const string OnlineAccess = "online_access";

    /// <summary>
    /// online_access without offline_access: OpenIddict issues refresh tokens for offline_access only, so the grant
    /// carries it as well, with the short online lifetime; the answers name online_access alone.
    /// </summary>
    public static void Online(ClaimsPrincipal principal, TimeSpan lifetime)
    {
        var scopes = principal.GetScopes();
        if (!scopes.Contains(OnlineAccess) || scopes.Contains(Scopes.OfflineAccess)) return;
        principal.SetScopes(scopes.Append(Scopes.OfflineAccess));
        principal.SetRefreshTokenLifetime(lifetime);
        ((ClaimsIdentity)principal.Identity!).SetClaim(OnlineLifetime, (long)lifetime.TotalSeconds);
        principal.SetDestinations(Destinations);
    }

    // The online lifetime, carried in the grant (code, refresh token, access token) so each refresh renews it.
    private const string OnlineLifetime = "online_access_seconds";

    /// <summary>The scopes the client was granted, as it asked for them (online_access without the offline_access carrier).</summary>
    public static IEnumerable<string> Granted(ClaimsPrincipal principal) =>
        principal.GetClaim(OnlineLifetime) is not null ? principal.GetScopes().Where(s => s != Scopes.OfflineAccess) : principal.GetScopes();

    /// <summary>On each refresh of an online grant, the next refresh token again lapses after the online lifetime.</summary>
    public static void RenewOnline(ClaimsPrincipal principal)
    {
        if (long.TryParse(principal.GetClaim(OnlineLifetime), out var seconds)) principal.SetRefreshTokenLifetime(TimeSpan.FromSeconds(seconds));
    }

    /// <summary>Scopes that are not about clinical data, granted when the client may have them.</summary>
    public static readonly IReadOnlySet<string> Other = new HashSet<string>
    {
        Scopes.OpenId, "fhirUser", "profile", "launch", "launch/patient", Scopes.OfflineAccess, OnlineAccess,
    };

    /// <param name="subject">The user's name, or the client id for a system token.</param>
    public static ClaimsPrincipal Principal(string subject, string clientId, IEnumerable<string> scopes, string audience,
        string? patient, string? fhirUser, string? institution, IEnumerable<string> roles, string? encounter = null)
    {
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, subject).SetClaim(Claims.Name, subject).SetClaim("azp", clientId);
        if (patient is not null) identity.SetClaim(Patient, patient);
        if (encounter is not null) identity.SetClaim(Encounter, encounter);
        if (fhirUser is not null) identity.SetClaim(FhirUser, fhirUser);
        if (institution is not null) identity.SetClaim(Institution, institution);
        identity.SetClaims(Claims.Role, [.. roles]);
        identity.SetScopes(scopes);
        identity.SetAudiences(audience);
        var principal = new ClaimsPrincipal(identity);
        principal.SetDestinations(Destinations);
        return principal;
    }

    /// <summary>Everything goes into the access token; the id_token gets the subject and, with "fhirUser", the user's resource.</summary>
    public static IEnumerable<string> Destinations(Claim claim) => claim.Type switch
    {
        Claims.Subject or Claims.Name => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        FhirUser when claim.Subject?.HasScope("fhirUser") == true => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        _ => [OpenIddictConstants.Destinations.AccessToken],
    };

    /// <summary>
    /// The requested scopes this client may have (a clinical scope is granted when one of the client's allowed
    /// scopes covers it), in the contexts the flow allows: system/ for client credentials, patient/ and user/ for
    /// a signed-in user (patient/ only with a patient in context). A request without scopes asks for all allowed.
    /// </summary>
    public static List<string> Grant(IEnumerable<string> requested, IReadOnlyCollection<string> allowed, IReadOnlySet<ScopeContext> contexts)
    {
        var allowedClinical = allowed.Select(SmartScope.Parse).OfType<SmartScope>().ToList();
        var asked = requested.ToList();
        if (asked.Count == 0) asked = [.. allowed];
        var granted = new List<string>();
        foreach (var scope in asked.Distinct())
        {
            if (SmartScope.Parse(scope) is { } clinical)
            {
                if (contexts.Contains(clinical.Context) && allowedClinical.Any(a => a.Covers(clinical))) granted.Add(scope);
            }
            else if (Other.Contains(scope) && allowed.Contains(scope)) granted.Add(scope);
        }
        return granted;
    }
}
