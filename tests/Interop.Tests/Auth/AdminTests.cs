using System.Net;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>The admin API: registrations that break a rule are 400s naming the field; only admins may call it.</summary>
public sealed class AdminTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    [Theory]
    [InlineData("""{"clientId":"p1","type":"public","secret":"a-secret-of-enough-length","redirectUris":["https://a.example/cb"],"scopes":"patient/*.rs"}""", "secret")]
    [InlineData("""{"clientId":"c1","type":"confidential","redirectUris":[],"scopes":"system/*.rs"}""", "secret")]
    [InlineData("""{"clientId":"c2","type":"confidential","secret":"short","scopes":"system/*.rs"}""", "secret")]
    [InlineData("""{"clientId":"c3","type":"confidential","secret":"a-secret-of-enough-length","scopes":"system/*.rs","institution":"Organization/does-not-exist"}""", "institution")]
    [InlineData("""{"clientId":"c4","type":"confidential","secret":"a-secret-of-enough-length","scopes":"system/Nonsense.rs"}""", "scopes")]
    [InlineData("""{"clientId":"c5","type":"confidential","secret":"a-secret-of-enough-length","scopes":"system/*.rs","roles":["superuser"]}""", "roles")]
    [InlineData("""{"clientId":"c6","type":"sometimes","scopes":"system/*.rs"}""", "type")]
    [InlineData("""{"clientId":"has space","type":"public","scopes":"patient/*.rs"}""", "clientId")]
    [InlineData("""{"clientId":"p2","type":"public","redirectUris":["not a uri"],"scopes":"patient/*.rs"}""", "redirectUris")]
    [InlineData("""{"clientId":"c7","type":"confidential","jwks":{"keys":[]},"scopes":"system/*.rs"}""", "jwks")]
    [InlineData("""{"clientId":"c8","type":"confidential","jwks":{"keys":[{"kty":"RSA","kid":"k","n":"x"}]},"scopes":"system/*.rs"}""", "jwks")]
    [InlineData("""{"clientId":"c9","type":"confidential","jwks":"nonsense","scopes":"system/*.rs"}""", "jwks")]
    [InlineData("""{"clientId":"u1","type":"confidential","jwksUri":"http://keys.example/jwks.json","scopes":"system/*.rs"}""", "jwksUri")]
    [InlineData("""{"clientId":"u2","type":"confidential","jwksUri":"/jwks.json","scopes":"system/*.rs"}""", "jwksUri")]
    [InlineData("""{"clientId":"u3","type":"confidential","jwksUri":"ftp://keys.example/jwks.json","scopes":"system/*.rs"}""", "jwksUri")]
    [InlineData("""{"clientId":"u4","type":"confidential","jwksUri":"https://user:pw@keys.example/jwks.json","scopes":"system/*.rs"}""", "jwksUri")]
    [InlineData("""{"clientId":"u5","type":"confidential","jwksUri":"https://keys.example/jwks.json","jwks":{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AQAB"}]},"scopes":"system/*.rs"}""", "jwksUri")]
    [InlineData("""{"clientId":"u6","type":"public","jwksUri":"https://keys.example/jwks.json","redirectUris":["https://a.example/cb"],"scopes":"patient/*.rs"}""", "jwksUri")]
    [InlineData("""{"clientId":"u7","type":"confidential","secret":"a-secret-of-enough-length","jwksUri":"https://keys.example/jwks.json","scopes":"system/*.rs"}""", "secret")]
    [InlineData("""{"clientId":5}""", "$.clientId")]
    public async Task A_client_registration_that_breaks_a_rule_is_a_400_naming_the_field(string json, string field)
    {
        var response = await server.CreateClient().PostAsync("/admin/clients", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var issue = Assert.Single(await response.Issues());
        Assert.Equal(field, issue.Expression);
    }

    [Fact]
    public async Task A_user_registration_that_breaks_a_rule_is_a_400_naming_the_field()
    {
        var patient = await server.NewId(new Patient { Active = true });
        var cases = new (object Body, string Field)[]
        {
            (new { username = "u1", password = "password", fhirUser = $"Patient/{patient}" }, "password"),
            (new { username = "u2", password = "Correct-Horse-42", fhirUser = "Organization/x" }, "fhirUser"),
            (new { username = "u3", password = "Correct-Horse-42", fhirUser = "Patient/nobody-here" }, "fhirUser"),
            (new { username = "u4", password = "Correct-Horse-42", fhirUser = $"Patient/{patient}", institutions = new[] { "Organization/nowhere" } }, "institutions"),
            (new { username = "u5", password = "Correct-Horse-42", fhirUser = $"Patient/{patient}", roles = new[] { "root" } }, "roles"),
            (new { username = "", password = "Correct-Horse-42", fhirUser = $"Patient/{patient}" }, "username"),
        };
        foreach (var (body, field) in cases)
        {
            var response = await server.Admin("/admin/users", body);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{field}: {(int)response.StatusCode}");
            Assert.Equal(field, Assert.Single(await response.Issues()).Expression);
        }
    }

    [Fact]
    public async Task Clients_and_users_are_listed_without_secrets_and_removed()
    {
        var org = await server.NewId(new Organization { Name = "Station 7" });
        var id = "station-" + Guid.NewGuid().ToString("N")[..8];
        await server.RegisterOrFail("/admin/clients", new { clientId = id, type = "confidential", secret = "a-secret-of-enough-length", scopes = "system/*.rs", institution = $"Organization/{org}", roles = new[] { "clinician" } });
        var admin = server.CreateClient();
        var list = await (await admin.GetAsync("/admin/clients")).Content.ReadAsStringAsync();
        Assert.Contains(id, list);
        Assert.DoesNotContain("a-secret-of-enough-length", list);
        var one = JsonNode.Parse(await (await admin.GetAsync($"/admin/clients/{id}")).Content.ReadAsStringAsync())!;
        Assert.Equal($"Organization/{org}", one["institution"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, (await server.Admin("/admin/clients", new { clientId = id, type = "public", scopes = "patient/*.rs" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/clients/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/clients/{id}")).StatusCode);
        var (status, _) = await server.TokenRequest(new() { ["grant_type"] = "client_credentials", ["client_id"] = id, ["client_secret"] = "a-secret-of-enough-length" });
        Assert.Equal(HttpStatusCode.Unauthorized, status); // a removed client gets no token (invalid_client)
    }

    [Fact]
    public async Task Only_the_admin_role_may_manage_clients_and_users()
    {
        var other = await server.ClientWith("plain-" + Guid.NewGuid().ToString("N")[..8], "system/*.cruds");
        var refused = await other.GetAsync("/admin/clients");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("admin role", (await refused.Issues())[0].Diagnostics);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Anonymous().GetAsync("/admin/users")).StatusCode);
    }
}
