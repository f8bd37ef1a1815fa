using Interop.Server.Rest;
using Microsoft.Extensions.Options;

namespace Interop.Server.Auth;

/// <summary>
/// GET /fhir/.well-known/smart-configuration (SMART App Launch 2.0): where the endpoints are and what this server
/// really supports — nothing is listed that is not built and tested.
/// </summary>
public static class SmartConfiguration
{
    public static readonly string[] Capabilities =
    [
        "launch-standalone", "launch-ehr", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
        "context-standalone-patient", "context-ehr-patient", "context-ehr-encounter", "permission-patient", "permission-user", "permission-v1", "permission-v2",
        "permission-offline", "permission-online", "sso-openid-connect", "authorize-post",
    ];

    public static readonly string[] ScopesSupported =
    [
        "openid", "fhirUser", "launch", "launch/patient", "offline_access", "online_access",
        "patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read", "user/*.read", "system/*.read",
        "patient/*.write", "user/*.write", "system/*.write", "patient/*.*", "user/*.*", "system/*.*",
    ];

    public static IResult Handle(IOptions<FhirOptions> fhir)
    {
        var issuer = AuthSetup.Issuer(fhir.Value).AbsoluteUri.TrimEnd('/');
        return Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = issuer + "/",
            ["jwks_uri"] = $"{issuer}/auth/jwks",
            ["authorization_endpoint"] = $"{issuer}/auth/authorize",
            ["token_endpoint"] = $"{issuer}/auth/token",
            ["introspection_endpoint"] = $"{issuer}/auth/introspect",
            ["revocation_endpoint"] = $"{issuer}/auth/revoke",
            ["grant_types_supported"] = new[] { "authorization_code", "refresh_token", "client_credentials" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post", "private_key_jwt" },
            ["token_endpoint_auth_signing_alg_values_supported"] = new[] { "RS384", "ES384" },
            ["scopes_supported"] = ScopesSupported,
            ["response_types_supported"] = new[] { "code" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["capabilities"] = Capabilities,
        }, contentType: "application/json");
    }
}
