using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;

namespace Interop.Tests.Auth;

/// <summary>
/// SMART Backend Services clients registered by jwksUri: their keys are fetched from a real HTTP endpoint when an
/// assertion is checked, rotated keys are found by a refetch, and every failure is invalid_client, never a 500.
/// </summary>
public sealed class JwksUriTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    private sealed record Key(string Kid, string Alg, SecurityKey Private, object Public);

    private static Key Rsa(string kid)
    {
        var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        return new Key(kid, "RS384", new RsaSecurityKey(rsa) { KeyId = kid },
            new { kty = "RSA", kid, n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) });
    }

    private static Key Ec(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var p = ec.ExportParameters(false);
        return new Key(kid, "ES384", new ECDsaSecurityKey(ec) { KeyId = kid },
            new { kty = "EC", kid, crv = "P-384", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) });
    }

    private static string Set(params Key[] keys) => JsonSerializer.Serialize(new { keys = keys.Select(k => k.Public) });

    private static string Assertion(string clientId, Key key, string? jti = null) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = "JWT", SigningCredentials = new SigningCredentials(key.Private, key.Alg),
            Claims = new Dictionary<string, object>
            {
                ["iss"] = clientId, ["sub"] = clientId, ["aud"] = "http://localhost/auth/token", ["jti"] = jti ?? Guid.NewGuid().ToString(),
                ["exp"] = DateTimeOffset.UtcNow.AddMinutes(4).ToUnixTimeSeconds(),
            },
        });

    private Task<(HttpStatusCode Status, JsonElement Body)> Token(string assertion) => server.TokenRequest(new()
    {
        ["grant_type"] = "client_credentials", ["scope"] = "system/Patient.rs",
        ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ["client_assertion"] = assertion,
    });

    private async Task<string> Register(string jwksUri)
    {
        var clientId = "byurl-" + Guid.NewGuid().ToString("N")[..8];
        await server.RegisterOrFail("/admin/clients", new { clientId, type = "confidential", jwksUri, scopes = "system/*.rs" });
        return clientId;
    }

    private static void Refused((HttpStatusCode Status, JsonElement Body) answer, string because)
    {
        Assert.True(answer.Status == HttpStatusCode.Unauthorized, $"{because}: {(int)answer.Status} {answer.Body}");
        Assert.Equal("invalid_client", answer.Body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task RS384_and_ES384_assertions_are_checked_against_the_keys_at_the_jwksUri_and_a_replay_is_refused()
    {
        using var host = new JwksHost();
        Key rs = Rsa("rs-1"), ec = Ec("ec-1");
        host.Body = Set(rs, ec);
        var clientId = await Register(host.Url);
        var profile = JsonDocument.Parse(await server.CreateClient().GetStringAsync($"/admin/clients/{clientId}")).RootElement;
        Assert.Equal(host.Url, profile.GetProperty("jwksUri").GetString());
        Assert.False(profile.GetProperty("hasSecret").GetBoolean());

        foreach (var key in new[] { rs, ec })
        {
            var (status, body) = await Token(Assertion(clientId, key));
            Assert.True(status == HttpStatusCode.OK, $"{key.Alg}: {body}");
            Assert.Equal("system/Patient.rs", body.GetProperty("scope").GetString());
        }
        Assert.Equal(1, host.Fetches); // the set is cached

        var once = Assertion(clientId, rs, "jti-" + Guid.NewGuid());
        Assert.Equal(HttpStatusCode.OK, (await Token(once)).Status);
        Refused(await Token(once), "a replayed jti");
        // An https jwksUri to any host is accepted at registration (http only to a loopback host: AdminTests).
        await server.RegisterOrFail("/admin/clients", new { clientId = clientId + "-tls", type = "confidential", jwksUri = "https://keys.example/jwks.json", scopes = "system/*.rs" });
        // Signed with a key of the right kid that is not the published one: the signature fails.
        Refused(await Token(Assertion(clientId, Rsa("rs-1"))), "a forged key with a published kid");
    }

    [Fact]
    public async Task A_rotated_key_is_found_by_a_refetch_and_unknown_kids_do_not_make_the_server_fetch_each_time()
    {
        using var host = new JwksHost();
        Key old = Rsa("2025"), rotated = Ec("2026");
        host.Body = Set(old);
        var clientId = await Register(host.Url);
        Assert.Equal(HttpStatusCode.OK, (await Token(Assertion(clientId, old))).Status);
        Assert.Equal(1, host.Fetches);

        // The client publishes its new key and drops the old one; the cached set (fresh for minutes) lacks the new kid.
        host.Body = Set(rotated);
        await Task.Delay(TimeSpan.FromSeconds(2.2)); // the fixture's refetch interval (Auth:JwksRefetchSeconds = 2)
        var (status, body) = await Token(Assertion(clientId, rotated));
        Assert.True(status == HttpStatusCode.OK, $"rotated key: {body}");
        Assert.Equal(2, host.Fetches);
        Refused(await Token(Assertion(clientId, old)), "the retired key");

        // Assertions naming kids nobody published: refused, and within the interval no new fetch per assertion.
        var madeUp = Enumerable.Range(0, 5).Select(i => Assertion(clientId, Rsa("made-up-" + i))).ToList();
        var before = host.Fetches;
        var started = DateTime.UtcNow;
        foreach (var assertion in madeUp) Refused(await Token(assertion), "an unknown kid");
        var allowed = 1 + (int)((DateTime.UtcNow - started).TotalSeconds / 2); // one per refetch interval at most
        Assert.True(host.Fetches - before <= allowed, $"{host.Fetches - before} fetches for 5 assertions with unknown kids (at most {allowed})");
    }

    [Fact]
    public async Task An_unreachable_or_broken_jwksUri_or_a_set_without_the_key_refuses_the_client_with_invalid_client()
    {
        var rs = Rsa("k");
        var nowhere = $"http://127.0.0.1:{JwksHost.FreePort()}/jwks.json";
        var unreachable = await Register(nowhere);
        var answer = await Token(Assertion(unreachable, rs));
        Refused(answer, "unreachable jwksUri");
        Assert.Contains("jwksUri", answer.Body.GetProperty("error_description").GetString());

        using var host = new JwksHost();
        var cases = new (string Body, int Status, string Why)[]
        {
            (Set(Rsa("someone-else")), 200, "no key 'k'"),
            ("this is not json", 200, "not a JSON Web Key Set"),
            ("""{"keys":[]}""", 200, "has no keys"),
            (Set(rs), 500, "answered 500"),
        };
        foreach (var (body, status, why) in cases)
        {
            using var one = new JwksHost { Body = body, Status = status };
            var clientId = await Register(one.Url);
            var refused = await Token(Assertion(clientId, rs));
            Refused(refused, why);
            Assert.Contains(why, refused.Body.GetProperty("error_description").GetString());
        }

        // The refusal is in the access log like any other token refusal (the agent is "unknown": the request named
        // its client only inside the assertion it could not check).
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("select outcome, doc::text from audit.event where subtype = 'token' and doc::text like $1", db);
        cmd.Parameters.AddWithValue($"%{nowhere}%");
        await using var r = await cmd.ExecuteReaderAsync();
        Assert.True(await r.ReadAsync(), "no access log record of the refused token request");
        Assert.Equal(4, r.GetInt16(0));
        Assert.Contains("invalid_client", r.GetString(1));
    }
}
