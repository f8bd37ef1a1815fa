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

    /// <summary>Scopes that are not about clinical data, granted when the client may have them.</summary>
    public static readonly IReadOnlySet<string> Other = new HashSet<string>
    {
        Scopes.OpenId, "fhirUser", "profile", "launch", "launch/patient", Scopes.OfflineAccess,
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
