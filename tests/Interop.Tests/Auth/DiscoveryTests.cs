using System.Net;
using System.Text.Json;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>What a SMART client reads before it starts: smart-configuration, OpenID discovery, the CapabilityStatement.</summary>
public sealed class DiscoveryTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Fact]
    public async Task Smart_configuration_lists_the_endpoints_and_only_the_capabilities_that_are_built()
    {
        var config = JsonDocument.Parse(await server.Anonymous().GetStringAsync("/fhir/.well-known/smart-configuration")).RootElement;
        Assert.Equal("http://localhost/auth/token", config.GetProperty("token_endpoint").GetString());
        Assert.Equal("http://localhost/auth/authorize", config.GetProperty("authorization_endpoint").GetString());
        Assert.Equal(["S256"], config.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
        var capabilities = config.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()).ToHashSet();
        foreach (var c in new[] { "launch-standalone", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
                     "context-standalone-patient", "permission-patient", "permission-user", "permission-v1", "permission-v2", "permission-offline", "sso-openid-connect", "authorize-post" })
            Assert.Contains(c, capabilities);
        Assert.Contains("launch-ehr", capabilities);
        Assert.Contains("context-ehr-patient", capabilities);
        Assert.Contains("permission-online", capabilities);
        // Not built, so not claimed.
        Assert.DoesNotContain("context-standalone-encounter", capabilities);
    }

    [Fact]
    public async Task OpenID_discovery_and_the_key_set_agree_with_the_tokens()
    {
        var anonymous = server.Anonymous();
        var discovery = JsonDocument.Parse(await anonymous.GetStringAsync("/.well-known/openid-configuration")).RootElement;
        Assert.Equal("http://localhost/", discovery.GetProperty("issuer").GetString());
        var jwks = JsonDocument.Parse(await anonymous.GetStringAsync("/auth/jwks")).RootElement;
        var kids = jwks.GetProperty("keys").EnumerateArray().Select(k => k.GetProperty("kid").GetString()).ToList();
        var token = await server.Token("admin", FhirServerFixture.AdminSecret);
        var header = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(token.Split('.')[0])).RootElement;
        Assert.Contains(header.GetProperty("kid").GetString(), kids);
        Assert.Equal("http://localhost/", AuthFixture.Claims(token).GetProperty("iss").GetString());
    }

    [Fact]
    public async Task The_CapabilityStatement_declares_SMART_on_FHIR_with_its_oauth_uris()
    {
        var response = await server.Anonymous().GetAsync("/fhir/metadata");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var security = (await response.ReadJson())["rest"]![0]!["security"]!;
        Assert.Equal("SMART-on-FHIR", security["service"]![0]!["coding"]![0]!["code"]!.GetValue<string>());
        var uris = security["extension"]![0]!;
        Assert.Equal("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", uris["url"]!.GetValue<string>());
        var token = uris["extension"]!.AsArray().Single(e => e!["url"]!.GetValue<string>() == "token");
        Assert.Equal("http://localhost/auth/token", token!["valueUri"]!.GetValue<string>());
    }
}
