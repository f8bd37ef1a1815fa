using System.Net;
using System.Text.Json;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Auth;

/// <summary>SMART App Launch over real HTTP: the resident's standalone launch, PKCE, refresh, redirect URIs.</summary>
public sealed class LaunchTests(AuthFixture server) : IClassFixture<AuthFixture>
{
    private const string Password = "Correct-Horse-42";

    private async Task<(string ClientId, string Username, string PatientId)> Resident(string scopes = "launch/patient patient/*.rs openid fhirUser offline_access")
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var patient = await server.NewId(new Patient { Name = [new HumanName { Family = "Resident" + suffix }] });
        await server.RegisterOrFail("/admin/users", new { username = "res-" + suffix, password = Password, fhirUser = $"Patient/{patient}" });
        await server.RegisterOrFail("/admin/clients", new { clientId = "app-" + suffix, type = "public", redirectUris = new[] { AuthFixture.Redirect }, scopes });
        return ("app-" + suffix, "res-" + suffix, patient);
    }

    [Fact]
    public async Task A_resident_launches_standalone_logs_in_consents_and_gets_tokens_for_their_own_record()
    {
        var (clientId, username, patient) = await Resident();
        var (code, verifier) = await server.Launch(clientId, "launch/patient patient/Patient.rs patient/Observation.rs openid fhirUser offline_access", username, Password);
        var (status, token) = await server.Exchange(clientId, code, verifier);
        Assert.True(status == HttpStatusCode.OK, token.ToString());
        Assert.Equal(patient, token.GetProperty("patient").GetString());
        var scope = token.GetProperty("scope").GetString()!.Split(' ');
        Assert.Contains("patient/Observation.rs", scope);
        Assert.Contains("offline_access", scope);
        var idToken = AuthFixture.Claims(token.GetProperty("id_token").GetString()!);
        Assert.Equal($"Patient/{patient}", idToken.GetProperty("fhirUser").GetString());
        var access = token.GetProperty("access_token").GetString()!;
        Assert.Equal("http://localhost/fhir", AuthFixture.Claims(access).GetProperty("aud").GetString());

        var own = await server.Bearer(access).GetAsync($"/fhir/Patient/{patient}");
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);

        // The refresh token gives a new access token and a new refresh token (rotation).
        var refresh = token.GetProperty("refresh_token").GetString()!;
        var (refreshed, next) = await server.TokenRequest(new() { ["grant_type"] = "refresh_token", ["client_id"] = clientId, ["refresh_token"] = refresh });
        Assert.True(refreshed == HttpStatusCode.OK, next.ToString());
        Assert.Equal(patient, next.GetProperty("patient").GetString());
        Assert.NotEqual(refresh, next.GetProperty("refresh_token").GetString());
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(next.GetProperty("access_token").GetString()!).GetAsync($"/fhir/Patient/{patient}")).StatusCode);
    }

    [Fact]
    public async Task Online_access_gives_a_refresh_token_that_lapses_after_an_hour_unused()
    {
        var (clientId, username, patient) = await Resident("launch/patient patient/*.rs online_access offline_access");
        var (code, verifier) = await server.Launch(clientId, "launch/patient patient/*.rs online_access", username, Password);
        var (status, token) = await server.Exchange(clientId, code, verifier);
        Assert.True(status == HttpStatusCode.OK, token.ToString());
        var scope = token.GetProperty("scope").GetString()!.Split(' ');
        Assert.Contains("online_access", scope);
        Assert.DoesNotContain("offline_access", scope);
        var refresh = token.GetProperty("refresh_token").GetString()!;
        // Its lifetime is Auth:OnlineAccessMinutes (60), not Auth:RefreshTokenDays.
        await using (var db = new Npgsql.NpgsqlConnection(server.ConnectionString))
        {
            await db.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand(
                "select extract(epoch from max(\"ExpirationDate\" - \"CreationDate\")) from auth.\"OpenIddictTokens\" t join auth.\"OpenIddictApplications\" a on a.\"Id\" = t.\"ApplicationId\" " +
                "where a.\"ClientId\" = $1 and t.\"Type\" = 'urn:ietf:params:oauth:token-type:refresh_token'", db);
            cmd.Parameters.AddWithValue(clientId);
            var seconds = Convert.ToDouble(await cmd.ExecuteScalarAsync());
            Assert.InRange(seconds, 59 * 60, 61 * 60);
        }
        var (refreshed, next) = await server.TokenRequest(new() { ["grant_type"] = "refresh_token", ["client_id"] = clientId, ["refresh_token"] = refresh });
        Assert.True(refreshed == HttpStatusCode.OK, next.ToString());
        Assert.DoesNotContain("offline_access", next.GetProperty("scope").GetString()!.Split(' '));
        Assert.Equal(patient, next.GetProperty("patient").GetString());
    }

    [Fact]
    public async Task The_code_is_refused_with_the_wrong_PKCE_verifier()
    {
        var (clientId, username, _) = await Resident();
        var (code, verifier) = await server.Launch(clientId, "launch/patient patient/*.rs", username, Password);
        var (wrong, error) = await server.Exchange(clientId, code, AuthFixture.Pkce().Verifier);
        Assert.Equal(HttpStatusCode.BadRequest, wrong);
        Assert.Equal("invalid_grant", error.GetProperty("error").GetString());
        // A wrong guess does not spend the code (OpenIddict's behaviour): the verifier is 256 random bits.
        var (right, _) = await server.Exchange(clientId, code, verifier);
        Assert.Equal(HttpStatusCode.OK, right);
    }

    [Fact]
    public async Task A_code_is_redeemed_once()
    {
        var (clientId, username, _) = await Resident();
        var (code, verifier) = await server.Launch(clientId, "launch/patient patient/*.rs", username, Password);
        Assert.Equal(HttpStatusCode.OK, (await server.Exchange(clientId, code, verifier)).Status);
        var (replay, error) = await server.Exchange(clientId, code, verifier);
        Assert.Equal(HttpStatusCode.BadRequest, replay);
        Assert.Equal("invalid_grant", error.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Plain_PKCE_a_missing_challenge_and_an_unregistered_redirect_URI_are_refused()
    {
        var (clientId, _, _) = await Resident();
        var browser = server.Browser();
        var (verifier, challenge) = AuthFixture.Pkce();
        var plain = await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", verifier, method: "plain"));
        await NoCode(plain, "invalid_request");
        var none = await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge).Replace("&code_challenge=" + challenge, ""));
        await NoCode(none, "invalid_request");
        // A redirect URI that is not registered never gets a redirect (nor a code).
        var elsewhere = await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge, redirect: "https://evil.example/cb"));
        Assert.Equal(HttpStatusCode.BadRequest, elsewhere.StatusCode);
        Assert.Null(elsewhere.Headers.Location);
    }

    // Refused at once: no login form, no code, and the reason (in the redirect or the answer itself).
    private static async Task NoCode(HttpResponseMessage response, string error)
    {
        var said = response.Headers.Location?.Query ?? await response.Content.ReadAsStringAsync();
        Assert.Contains(error, said);
        Assert.DoesNotContain("code=", said);
        Assert.DoesNotContain("name=password", said);
    }

    [Fact]
    public async Task A_wrong_password_shows_the_login_form_again_and_an_aud_for_another_server_is_refused()
    {
        var (clientId, username, _) = await Resident();
        var browser = server.Browser();
        var (_, challenge) = AuthFixture.Pkce();
        var login = await (await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge))).Content.ReadAsStringAsync();
        var wrong = await AuthFixture.Submit(browser, login, -1, ("username", username), ("password", "not-the-password"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        var page = await wrong.Content.ReadAsStringAsync();
        Assert.Contains("name=password", page);
        Assert.DoesNotContain("value=approve", page);
        var other = await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge, aud: "https://other.example/fhir"));
        Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);
        Assert.Contains("error=invalid_request", other.Headers.Location!.Query);
    }

    [Fact]
    public async Task Five_wrong_passwords_lock_the_username_for_a_while_even_against_the_right_one()
    {
        var (clientId, username, _) = await Resident();
        var browser = server.Browser();
        var (_, challenge) = AuthFixture.Pkce();
        var login = await (await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge))).Content.ReadAsStringAsync();
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await AuthFixture.Submit(browser, login, -1, ("username", username), ("password", "guess-" + i))).StatusCode);
        var locked = await AuthFixture.Submit(browser, login, -1, ("username", username), ("password", Password));
        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
        Assert.Contains("Too many failed sign-ins", await locked.Content.ReadAsStringAsync());
        // Another user is not affected.
        var (otherClient, other, _) = await Resident();
        var page = await (await browser.GetAsync(AuthFixture.AuthorizeUrl(otherClient, "launch/patient patient/*.rs", challenge))).Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, (await AuthFixture.Submit(browser, page, -1, ("username", other), ("password", Password))).StatusCode);
    }

    [Fact]
    public async Task A_resident_who_denies_consent_sends_the_app_back_with_access_denied()
    {
        var (clientId, username, _) = await Resident();
        var browser = server.Browser();
        var (_, challenge) = AuthFixture.Pkce();
        var login = await (await browser.GetAsync(AuthFixture.AuthorizeUrl(clientId, "launch/patient patient/*.rs", challenge))).Content.ReadAsStringAsync();
        var consent = await (await AuthFixture.Submit(browser, login, -1, ("username", username), ("password", Password))).Content.ReadAsStringAsync();
        Assert.Contains("Read, search your records of every kind", consent);
        var denied = await AuthFixture.Submit(browser, consent, -1, ("decision", "deny"));
        Assert.Equal(HttpStatusCode.Redirect, denied.StatusCode);
        Assert.Contains("error=access_denied", denied.Headers.Location!.Query);
    }

    [Fact]
    public async Task A_practitioner_launching_with_launch_patient_picks_the_patient()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var family = "Pick" + suffix;
        var patient = await server.NewId(new Patient { Name = [new HumanName { Family = family, Given = ["Mei"] }], BirthDate = "1950-02-03" });
        var practitioner = await server.NewId(new Practitioner { Name = [new HumanName { Family = "Doc" + suffix }] });
        await server.RegisterOrFail("/admin/users", new { username = "doc-" + suffix, password = Password, fhirUser = $"Practitioner/{practitioner}", roles = new[] { "clinician" } });
        await server.RegisterOrFail("/admin/clients", new { clientId = "ehr-" + suffix, type = "public", redirectUris = new[] { AuthFixture.Redirect }, scopes = "launch/patient patient/*.rs openid fhirUser" });
        var (code, verifier) = await server.Launch("ehr-" + suffix, "launch/patient patient/*.rs openid fhirUser", "doc-" + suffix, Password, async (browser, consent) =>
        {
            Assert.Contains("name=q", consent);
            var found = await AuthFixture.Submit(browser, consent, 0, ("q", family), ("decision", "search"));
            var page = await found.Content.ReadAsStringAsync();
            Assert.Contains($"Mei {family}, born 1950-02-03", page);
            return page;
        });
        var (status, token) = await server.Exchange("ehr-" + suffix, code, verifier);
        Assert.True(status == HttpStatusCode.OK, token.ToString());
        Assert.Equal(patient, token.GetProperty("patient").GetString());
        Assert.Equal($"Practitioner/{practitioner}", AuthFixture.Claims(token.GetProperty("id_token").GetString()!).GetProperty("fhirUser").GetString());
    }

    [Fact]
    public async Task An_EHR_launch_hands_its_patient_and_encounter_to_the_app_once()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var patient = await server.NewId(new Patient { Name = [new HumanName { Family = "Ehr" + suffix }] });
        var encounter = await server.NewId(new Encounter
        {
            Status = Encounter.EncounterStatus.InProgress, Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB"),
            Subject = new ResourceReference($"Patient/{patient}"),
        });
        var practitioner = await server.NewId(new Practitioner { Name = [new HumanName { Family = "Doc" + suffix }] });
        await server.RegisterOrFail("/admin/users", new { username = "ehr-doc-" + suffix, password = Password, fhirUser = $"Practitioner/{practitioner}" });
        await server.RegisterOrFail("/admin/clients", new { clientId = "chart-" + suffix, type = "public", redirectUris = new[] { AuthFixture.Redirect }, scopes = "launch patient/*.rs openid fhirUser" });
        var ehr = await server.ClientWith("emr-" + suffix, "system/*.rs");

        var created = await ehr.PostAsync("/auth/launch", new StringContent(JsonSerializer.Serialize(new { patient, encounter }), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var launch = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("launch").GetString()!;

        var (code, verifier) = await server.Launch("chart-" + suffix, "launch patient/*.rs openid fhirUser", "ehr-doc-" + suffix, Password, launch: launch);
        var (status, token) = await server.Exchange("chart-" + suffix, code, verifier);
        Assert.True(status == HttpStatusCode.OK, token.ToString());
        Assert.Equal(patient, token.GetProperty("patient").GetString());
        Assert.Equal(encounter, token.GetProperty("encounter").GetString());
        Assert.Equal(HttpStatusCode.OK, (await server.Bearer(token.GetProperty("access_token").GetString()!).GetAsync($"/fhir/Patient/{patient}")).StatusCode);

        // The launch was used up; an unknown patient cannot be launched; without a token nothing is launched.
        var again = await server.Browser().GetAsync(AuthFixture.AuthorizeUrl("chart-" + suffix, "launch patient/*.rs", AuthFixture.Pkce().Challenge, launch: launch));
        var login = await again.Content.ReadAsStringAsync();
        var browser = server.Browser();
        var page = await (await browser.GetAsync(AuthFixture.AuthorizeUrl("chart-" + suffix, "launch patient/*.rs", AuthFixture.Pkce().Challenge, launch: launch))).Content.ReadAsStringAsync();
        var refused = await AuthFixture.Submit(browser, page, -1, ("username", "ehr-doc-" + suffix), ("password", Password));
        Assert.Equal(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Contains("error=invalid_request", refused.Headers.Location!.Query);
        Assert.Contains("name=username", login);
        Assert.Equal(HttpStatusCode.NotFound, (await ehr.PostAsync("/auth/launch", new StringContent("""{"patient":"nobody"}""", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Anonymous().PostAsync("/auth/launch", new StringContent($$"""{"patient":"{{patient}}"}""", System.Text.Encoding.UTF8, "application/json"))).StatusCode);
    }
}
