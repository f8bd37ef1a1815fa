using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Interop.Tests.Auth;

/// <summary>What the resource server does with tokens: none, bad ones, revoked ones, and scopes that fall short.</summary>
public sealed class TokenTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    private async Task<(string ClientId, string Secret)> SecretClient(string scopes)
    {
        var id = "sys-" + Guid.NewGuid().ToString("N")[..8];
        var secret = "s3cret-" + Guid.NewGuid().ToString("N");
        await server.RegisterOrFail("/admin/clients", new { clientId = id, type = "confidential", secret, scopes });
        return (id, secret);
    }

    // A token the server itself would sign (its key from auth.keys), with claims of the test's choosing.
    private async Task<string> Forge(Dictionary<string, object> claims)
    {
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("select \"Pem\" from auth.keys where \"Use\" = 'sig'", db);
        var rsa = RSA.Create();
        rsa.ImportFromPem((string)(await cmd.ExecuteScalarAsync())!);
        var kid = "sig-" + Convert.ToHexStringLower(SHA256.HashData(rsa.ExportSubjectPublicKeyInfo()))[..16];
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims, TokenType = "at+jwt",
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = kid }, SecurityAlgorithms.RsaSha256),
        });
    }

    private static Dictionary<string, object> GoodClaims(DateTimeOffset? expires = null, string aud = "http://localhost/fhir") => new()
    {
        ["iss"] = "http://localhost/", ["aud"] = aud, ["sub"] = "admin", ["azp"] = "admin", ["client_id"] = "admin", ["scope"] = "system/*.cruds",
        ["iat"] = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds(), ["exp"] = (expires ?? DateTimeOffset.UtcNow.AddMinutes(10)).ToUnixTimeSeconds(),
        ["jti"] = Guid.NewGuid().ToString(),
    };

    [Fact]
    public async Task Without_a_token_data_is_401_with_a_Bearer_challenge_while_metadata_and_discovery_stay_open()
    {
        var anonymous = server.Anonymous();
        var id = await server.NewId(new Patient { Active = true });
        foreach (var url in new[] { $"/fhir/Patient/{id}", "/fhir/Patient", "/fhir/_history", $"/fhir/Patient/{id}/$everything", "/admin/clients" })
        {
            var response = await anonymous.GetAsync(url);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, url);
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString());
            Assert.Equal("login", (await response.Issues())[0].Code);
        }
        var write = await anonymous.PostAsync("/fhir/Patient", FhirTest.Body(new Patient { Active = true }));
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
        var bundle = await anonymous.PostAsync("/fhir", FhirTest.Body("""{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"}}]}"""));
        Assert.Equal(HttpStatusCode.Unauthorized, bundle.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/fhir/metadata")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/fhir/.well-known/smart-configuration")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/.well-known/openid-configuration")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/auth/jwks")).StatusCode);
    }

    [Fact]
    public async Task Tampered_expired_wrong_audience_and_unsigned_tokens_are_401_invalid_token()
    {
        var id = await server.NewId(new Patient { Active = true });
        var good = await Forge(GoodClaims());
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(good).GetAsync($"/fhir/Patient/{id}")).StatusCode); // the forgery itself is sound
        var parts = good.Split('.');
        var claims = JsonSerializer.Deserialize<Dictionary<string, object>>(Base64UrlEncoder.Decode(parts[1]))!;
        claims["scope"] = "system/*.cruds user/*.cruds";
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims))}.{parts[2]}";
        var tokens = new Dictionary<string, string>
        {
            ["tampered"] = tampered,
            ["expired"] = await Forge(GoodClaims(DateTimeOffset.UtcNow.AddMinutes(-6))),
            ["wrong audience"] = await Forge(GoodClaims(aud: "https://other.example/fhir")),
            ["unsigned"] = $"{Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""")}.{parts[1]}.",
        };
        foreach (var (label, token) in tokens)
        {
            var response = await server.Bearer(token).GetAsync($"/fhir/Patient/{id}");
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{label}: {(int)response.StatusCode}");
            Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
            Assert.Contains("The access token was refused", (await response.Issues())[0].Diagnostics);
        }
    }

    [Fact]
    public async Task A_revoked_token_is_refused_within_the_revocation_cache_age()
    {
        var (clientId, secret) = await SecretClient("system/Patient.rs");
        var token = await server.Token(clientId, secret);
        var id = await server.NewId(new Patient { Active = true });
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(token).GetAsync($"/fhir/Patient/{id}")).StatusCode);
        var revoke = await server.Anonymous().PostAsync("/auth/revoke", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = token, ["client_id"] = clientId, ["client_secret"] = secret,
        }));
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        await Task.Delay(1200); // Auth:RevocationCacheSeconds = 1 in this fixture
        var refused = await server.Bearer(token).GetAsync($"/fhir/Patient/{id}");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", refused.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Scopes_are_checked_per_interaction_and_a_refusal_names_the_missing_scope()
    {
        var (clientId, secret) = await SecretClient("system/Patient.rs system/Observation.c");
        var http = server.Bearer(await server.Token(clientId, secret));
        var id = await server.NewId(new Patient { Active = true });
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/fhir/Patient/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/fhir/Patient?_id=" + id)).StatusCode);
        var cases = new (Func<Task<HttpResponseMessage>> Call, string Scope)[]
        {
            (() => http.PostAsync("/fhir/Patient", FhirTest.Body(new Patient { Active = true })), "system/Patient.c"),
            (() => http.PutAsync($"/fhir/Patient/{id}", FhirTest.Body(new Patient { Id = id, Active = false })), "system/Patient.u"),
            (() => http.DeleteAsync($"/fhir/Patient/{id}"), "system/Patient.d"),
            (() => http.GetAsync("/fhir/Observation"), "system/Observation.s"),
            (() => http.GetAsync($"/fhir/Patient?_id={id}&_revinclude=Observation:subject"), "system/Observation.r"),
            (() => http.GetAsync("/fhir/_history"), "system/*.s"),
        };
        foreach (var (call, scope) in cases)
        {
            var response = await call();
            Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{scope}: {(int)response.StatusCode}");
            Assert.Contains(scope, (await response.Issues())[0].Diagnostics);
        }
        // Each entry of a batch is checked on its own: the read passes, the delete is refused.
        var batch = await http.PostAsync("/fhir", FhirTest.Body($$$"""
            {"resourceType":"Bundle","type":"batch","entry":[
              {"request":{"method":"GET","url":"Patient/{{{id}}}"}},
              {"request":{"method":"DELETE","url":"Patient/{{{id}}}"}}]}
            """));
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var statuses = (await batch.ReadJson())["entry"]!.AsArray().Select(e => e!["response"]!["status"]!.GetValue<string>()).ToList();
        Assert.StartsWith("200", statuses[0]);
        Assert.StartsWith("403", statuses[1]);
        Assert.Equal(HttpStatusCode.OK, (await server.CreateClient().GetAsync($"/fhir/Patient/{id}")).StatusCode); // not deleted
    }

    [Fact]
    public async Task Client_credentials_grant_only_allowed_system_scopes_and_refuse_a_wrong_secret()
    {
        var (clientId, secret) = await SecretClient("system/Patient.rs");
        var (status, token) = await server.TokenRequest(new()
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret, ["scope"] = "system/Patient.r system/Observation.rs patient/*.rs",
        });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("system/Patient.r", token.GetProperty("scope").GetString());
        var (refused, error) = await server.TokenRequest(new()
        {
            ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret, ["scope"] = "system/Observation.rs",
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal("invalid_scope", error.GetProperty("error").GetString());
        var (wrong, bad) = await server.TokenRequest(new() { ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret + "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, wrong); // RFC 6749 5.2: a failed client authentication is 401 invalid_client
        Assert.Equal("invalid_client", bad.GetProperty("error").GetString());
        // client_secret_basic works as well as client_secret_post.
        var basic = new HttpRequestMessage(HttpMethod.Post, "/auth/token") { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }) };
        basic.Headers.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{clientId}:{secret}")));
        Assert.Equal(HttpStatusCode.OK, (await server.Anonymous().SendAsync(basic)).StatusCode);
    }

    [Fact]
    public async Task Backend_services_authenticate_with_a_signed_assertion_RS384_or_ES384_and_a_replay_is_refused()
    {
        var rsa = RSA.Create(2048);
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var jwks = new JsonWebKeySet();
        jwks.Keys.Add(JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = "rs" }));
        jwks.Keys.Add(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ECDsa.Create(ec.ExportParameters(false))) { KeyId = "ec" }));
        var clientId = "backend-" + Guid.NewGuid().ToString("N")[..8];
        var jwksJson = JsonSerializer.Deserialize<JsonElement>(JsonSerializer.Serialize(new
        {
            keys = jwks.Keys.Select(k => k.Kty == "RSA" ? (object)new { k.Kty, k.Kid, k.N, k.E } : new { k.Kty, k.Kid, k.Crv, k.X, k.Y }),
        }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, DictionaryKeyPolicy = JsonNamingPolicy.CamelCase }));
        await server.RegisterOrFail("/admin/clients", new { clientId, type = "confidential", jwks = jwksJson, scopes = "system/*.rs" });

        string Assertion(string alg, string? jti = null)
        {
            SecurityKey key = alg == "ES384" ? new ECDsaSecurityKey(ec) { KeyId = "ec" } : new RsaSecurityKey(rsa) { KeyId = "rs" };
            var now = DateTimeOffset.UtcNow;
            return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                TokenType = "JWT", SigningCredentials = new SigningCredentials(key, alg),
                Claims = new Dictionary<string, object>
                {
                    ["iss"] = clientId, ["sub"] = clientId, ["aud"] = "http://localhost/auth/token", ["jti"] = jti ?? Guid.NewGuid().ToString(),
                    ["exp"] = now.AddMinutes(4).ToUnixTimeSeconds(),
                },
            });
        }
        Dictionary<string, string> Form(string assertion) => new()
        {
            ["grant_type"] = "client_credentials", ["scope"] = "system/Patient.rs",
            ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ["client_assertion"] = assertion,
        };
        foreach (var alg in new[] { "RS384", "ES384" })
        {
            var (status, token) = await server.TokenRequest(Form(Assertion(alg)));
            Assert.True(status == HttpStatusCode.OK, $"{alg}: {token}");
            Assert.Equal("system/Patient.rs", token.GetProperty("scope").GetString());
        }
        var once = Assertion("RS384", "jti-" + Guid.NewGuid());
        Assert.Equal(HttpStatusCode.OK, (await server.TokenRequest(Form(once))).Status);
        var (replayed, error) = await server.TokenRequest(Form(once));
        Assert.Equal(HttpStatusCode.Unauthorized, replayed);
        Assert.Equal("invalid_client", error.GetProperty("error").GetString());
        // An assertion signed by a key the client did not register is refused.
        var stranger = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            TokenType = "JWT", SigningCredentials = new SigningCredentials(new RsaSecurityKey(RSA.Create(2048)) { KeyId = "rs" }, "RS384"),
            Claims = new Dictionary<string, object> { ["iss"] = clientId, ["sub"] = clientId, ["aud"] = "http://localhost/auth/token", ["jti"] = Guid.NewGuid().ToString() },
        });
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.TokenRequest(Form(stranger))).Status);
    }

    [Fact]
    public async Task Introspection_says_active_for_a_live_token_and_inactive_once_revoked()
    {
        var (clientId, secret) = await SecretClient("system/Patient.rs");
        var token = await server.Token(clientId, secret);
        async Task<bool> Active()
        {
            var response = await server.Anonymous().PostAsync("/auth/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = token, ["client_id"] = clientId, ["client_secret"] = secret,
            }));
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("active").GetBoolean();
        }
        Assert.True(await Active());
        await server.Anonymous().PostAsync("/auth/revoke", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = token, ["client_id"] = clientId, ["client_secret"] = secret,
        }));
        Assert.False(await Active());
    }

    [Theory]
    [InlineData("grant_type=client_credentials&client_id=%00&client_secret=x", "The form")]
    [InlineData("grant_type=client_credentials&client_id=a&client_secret=%01", "'client_secret'")]
    [InlineData("grant_type=client_credentials&scope=system%2FPatient.rs%00&client_id=a&client_secret=b", "The form")]
    public async Task OAuth_parameters_with_control_characters_are_invalid_requests_not_errors(string form, string parameter)
    {
        var response = await server.Anonymous().PostAsync("/auth/token", new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("invalid_request", body.GetProperty("error").GetString());
        Assert.Contains(parameter, body.GetProperty("error_description").GetString());
        var authorize = await server.Anonymous().GetAsync("/auth/authorize?response_type=code&client_id=%00");
        Assert.Equal(HttpStatusCode.BadRequest, authorize.StatusCode);
    }
}
